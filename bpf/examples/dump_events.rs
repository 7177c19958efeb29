//! Prints the raw probe events of a running Go process (a debugging aid):
//! `cargo run -p weft-bpf --example dump_events -- PID`
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let pid: u32 = std::env::args().nth(1).expect("usage: dump_events PID").parse()?;
    let exe = PathBuf::from(format!("/proc/{pid}/exe"));
    let bin = weft_bpf::goelf::GoBinary::open(&exe)?;
    eprintln!("{} offsets from {:?}, stripped: {}", bin.build.go_version, bin.offsets.source, bin.stripped);
    weft_bpf::probes::trace(
        &bin,
        &exe,
        pid,
        weft_bpf::Options::default(),
        |a| {
            eprintln!("attached {} uprobes: {:?}; skipped {:?}", a.uprobes, a.probed, a.skipped);
            Ok(())
        },
        |e| println!("{:?} g{} num={:?} strs={:?} raw={:?}", e.kind(), e.goid, e.num, (0..6).map(|i| e.str(i)).collect::<Vec<_>>(), e.raw_str()),
        || {},
        || std::path::Path::new(&format!("/proc/{pid}")).exists(),
    )?;
    Ok(())
}
