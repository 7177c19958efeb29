//! The eBPF commands' flags as users type them: `--write-traceparent` is
//! accepted by `weft run --ebpf` and `weft attach`, documented in --help,
//! and bad input still ends in one line (these never load probes).

mod support;

use std::process::Command;
use support::*;

fn fails_with_one_line(args: &[&str], want: &str) {
    let out = Command::new(weft()).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("weft: ") && err.contains(want), "{args:?}: {err}");
}

#[test]
fn write_traceparent_flag() {
    fails_with_one_line(&["run", "--ebpf", "--write-traceparent", "--", "definitely-not-a-program-weft"], "not found");
    fails_with_one_line(&["attach", "--pid", "4294967294", "--write-traceparent"], "no process with pid 4294967294");
    fails_with_one_line(&["run", "--write-traceparent", "--", "x"], "needs --ebpf");
    for cmd in [&["run", "--help"][..], &["attach", "--help"][..]] {
        let out = Command::new(weft()).args(cmd).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && help.contains("--write-traceparent"), "{cmd:?}: {help}");
    }
    let out = Command::new(weft()).args(["run", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("bpf_probe_write_user"));
}

#[test]
fn ebpf_offsets_rejects_what_is_no_reference_build() {
    fails_with_one_line(&["ebpf-offsets", "/bin/sh"], "/bin/sh is not a Go program");
    fails_with_one_line(&["ebpf-offsets", "/nonexistent-weft"], "reading /nonexistent-weft");
}
