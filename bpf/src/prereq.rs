//! What the kernel and the process must offer before probes can load:
//! privileges (root, or CAP_BPF + CAP_PERFMON), kernel BTF, the uprobe PMU,
//! and an amd64 machine. [`missing`] lists what is absent, one short line
//! each, so commands fail with one clear line and tests skip saying why.

use std::path::Path;

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// Effective capabilities of this process (from /proc/self/status).
fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("CapEff:").map(|v| v.trim().to_string())))
        .and_then(|v| u64::from_str_radix(&v, 16).ok())
        .unwrap_or(0)
}

/// Everything missing, each as "what (why it matters / what to do)".
pub fn missing() -> Vec<String> {
    let mut out = Vec::new();
    if !cfg!(target_arch = "x86_64") {
        out.push(format!(
            "an amd64 machine (this is {}; the probes read Go's amd64 register ABI, src/bpf/goabi.bpf.h; arm64 is designed for, not built)",
            std::env::consts::ARCH
        ));
    }
    let caps = effective_caps();
    let has = |c: u32| caps & (1u64 << c) != 0;
    if !(has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) {
        out.push("privileges: run as root, or give weft CAP_BPF and CAP_PERFMON".into());
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        out.push("kernel BTF: /sys/kernel/btf/vmlinux is missing (a kernel built with CONFIG_DEBUG_INFO_BTF=y)".into());
    }
    if !Path::new("/sys/bus/event_source/devices/uprobe/type").exists() {
        out.push("uprobe support: /sys/bus/event_source/devices/uprobe is missing (a kernel built with CONFIG_UPROBE_EVENTS=y)".into());
    }
    out
}

/// One line saying what is missing, or `None` when the machine can trace.
pub fn check() -> Option<String> {
    let m = missing();
    (!m.is_empty()).then(|| format!("cannot load eBPF probes here; missing: {}", m.join("; ")))
}

/// Why `bpf_probe_write_user` cannot be used here (kernel lockdown), if so.
pub fn write_blocked() -> Option<String> {
    let l = std::fs::read_to_string("/sys/kernel/security/lockdown").unwrap_or_default();
    let mode = l.split_whitespace().find(|w| w.starts_with('['))?.trim_matches(['[', ']']).to_string();
    (mode != "none").then(|| {
        format!("--write-traceparent: the kernel is in lockdown ({mode}), which forbids bpf_probe_write_user; run without it")
    })
}
