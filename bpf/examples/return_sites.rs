//! Where the return probes of the functions weft ends in their callers
//! would go in a Go binary, and how long finding them takes.
//!
//!   cargo run --release -p weft-bpf --example return_sites -- BINARY
use iced_x86::Register;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).expect("usage: return_sites BINARY");
    let t = Instant::now();
    let bin = weft_bpf::goelf::GoBinary::open(path.as_ref())?;
    println!("open: {:?}", t.elapsed());
    for (f, keep, up) in [
        ("net/http.serverHandler.ServeHTTP", &[][..], 0),
        ("net/http.send", &[Register::RAX, Register::RCX, Register::RDI][..], 0),
        ("database/sql.(*DB).queryDC", &[Register::RBX, Register::RCX][..], 1),
        ("database/sql.(*DB).execDC", &[Register::RCX, Register::RDI][..], 1),
    ] {
        let t = Instant::now();
        let s = bin.return_sites(f, keep, up);
        println!("{f}: {s:x?} in {:?}", t.elapsed());
    }
    Ok(())
}
