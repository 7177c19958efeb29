//! Entry probes sit on the stack check's jump, and a call that must grow its
//! stack runs that check twice (morestack starts the function over): it
//! must still make one span. tests/go/ebpfstack calls
//! `database/sql.(*Stmt).QueryContext` (a stub driver, no database) twice
//! on each of 500 goroutines at different stack depths; every query must be
//! one root span (a start recorded twice would leave a span open that the
//! goroutine's second query would take as its parent).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use weft::receiver::Receiver;

fn build() -> Result<std::path::PathBuf, Failed> {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ebpfstack");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/go/ebpfstack");
    let st = Command::new("go").args(["build", "-o"]).arg(&out).arg(".").current_dir(src).env("GOTOOLCHAIN", "local").status()?;
    if !st.success() {
        return Err("go build of tests/go/ebpfstack failed".into());
    }
    Ok(out)
}

fn one_span_per_call() -> Result<(), Failed> {
    let bin = build()?;
    let r = Receiver::start("127.0.0.1:0").map_err(|e| format!("{e:#}"))?;
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", r.endpoint());
    let code = weft_bpf::run_cmd(vec![bin.into_os_string()]).map_err(|e| format!("{e:#}"))?;
    assert_eq!(code, 0);
    let t = Instant::now();
    while r.spans().len() < 1000 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let spans = r.spans();
    assert_eq!(spans.len(), 1000, "one span per query");
    let nested: Vec<_> = spans.iter().filter(|s| !s.is_root()).collect();
    assert!(nested.is_empty(), "{} queries took a parent: {:?}", nested.len(), nested.first().map(|s| &s.parent_span_id));
    assert!(spans.iter().all(|s| s.name == "SELECT stub"), "{:?}", spans.iter().find(|s| s.name != "SELECT stub").map(|s| &s.name));
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut missing = weft_bpf::prereq::missing();
    if !Command::new("go").arg("version").output().is_ok_and(|o| o.status.success()) {
        missing.push("a Go toolchain (go on PATH)".into());
    }
    if !missing.is_empty() {
        println!("SKIPPED the eBPF stack-growth test; this machine lacks:");
        for m in &missing {
            println!("  - {m}");
        }
    }
    let trials = vec![Trial::test("one_span_per_call_when_the_stack_grows", one_span_per_call).with_ignored_flag(!missing.is_empty())];
    libtest_mimic::run(&args, trials).exit();
}
