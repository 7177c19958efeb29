//! `weft run --ebpf -- PROGRAM ARGS...` and `weft attach --pid N`: check
//! the machine, analyse the binary, attach the probes, turn events into
//! spans and export them until the program exits, then flush.
//!
//! `run` forks, and the child waits on a pipe until every probe is attached
//! before it execs the program, so not even `sql.Open` in `init` is missed.
//! SIGINT reaches the program through the terminal; SIGTERM sent to weft is
//! passed on. weft exits with the program's exit status. `attach` traces
//! until the process exits (then flushes and exits 0) or weft is
//! interrupted.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::cell::RefCell;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::export::{Config, Exporter};
use crate::goelf::GoBinary;
use crate::spans::Engine;
use crate::probes::Options;
use crate::{prereq, probes};

fn find_program(p: &OsString) -> Result<PathBuf> {
    let path = Path::new(p);
    if path.components().count() > 1 {
        return Ok(path.to_path_buf());
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let c = dir.join(path);
        if c.is_file() {
            return Ok(c);
        }
    }
    bail!("{}: not found (not a path, and not on PATH)", path.display())
}

/// `weft run --ebpf -- PROGRAM ARGS...`; returns the program's exit status.
pub fn run_cmd(args: Vec<OsString>) -> Result<i32> {
    run_cmd_with(args, Options::default())
}

/// `weft attach --pid N`; returns 0 once the process has exited or weft is interrupted.
pub fn attach_cmd(pid: u32) -> Result<i32> {
    attach_cmd_with(pid, Options::default())
}

static LAST_STATS: std::sync::Mutex<Option<probes::Stats>> = std::sync::Mutex::new(None);

/// The probes' counters of the last session that ended (for tests).
#[doc(hidden)]
pub fn last_stats() -> Option<probes::Stats> {
    *LAST_STATS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The machine checks, plus what `opts` needs.
fn check(opts: Options) -> Result<()> {
    if let Some(why) = prereq::check() {
        bail!(why);
    }
    if opts.write_traceparent {
        if let Some(why) = prereq::write_blocked().or_else(probes::write_refused) {
            bail!(why);
        }
    }
    Ok(())
}

/// `weft run --ebpf [--write-traceparent] -- PROGRAM ARGS...`.
pub fn run_cmd_with(args: Vec<OsString>, opts: Options) -> Result<i32> {
    let Some(prog) = args.first() else { bail!("weft run --ebpf: name the program to run: weft run --ebpf -- ./server ARGS...") };
    let exe = find_program(prog)?;
    check(opts)?;
    let bin = Arc::new(GoBinary::open(&exe)?);

    // Everything the child needs, prepared before fork (only async-signal-safe calls after it).
    let cargs: Vec<CString> = args.iter().map(|a| CString::new(a.as_bytes())).collect::<Result<_, _>>()?;
    let cexe = CString::new(exe.as_os_str().as_bytes())?;
    let mut argv: Vec<*const libc::c_char> = cargs.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut fds = [0i32; 2];
    // SAFETY: pipe writes two fds into the array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        bail!("pipe: {}", std::io::Error::last_os_error());
    }
    // SAFETY: the child only calls read, close, execv and _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        bail!("fork: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: async-signal-safe calls on prepared data.
        unsafe {
            libc::close(fds[1]);
            let mut b = 0u8;
            if libc::read(fds[0], (&mut b as *mut u8).cast(), 1) != 1 {
                libc::_exit(125); // weft failed before attaching: do not run untraced
            }
            libc::close(fds[0]);
            libc::execv(cexe.as_ptr(), argv.as_ptr());
            libc::_exit(127);
        }
    }
    // SAFETY: closing our copy of the read end.
    unsafe { libc::close(fds[0]) };
    let go_fd = fds[1];
    let status: Arc<OnceLock<i32>> = Arc::new(OnceLock::new());
    let term = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, term.clone())?;
    let int = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, int.clone())?;

    let st = status.clone();
    let waited = move || -> bool {
        if st.get().is_some() {
            return true;
        }
        let mut ws = 0;
        // SAFETY: waitpid on our own child.
        let r = unsafe { libc::waitpid(pid, &mut ws, libc::WNOHANG) };
        if r == pid {
            let code = if libc::WIFEXITED(ws) { libc::WEXITSTATUS(ws) } else { 128 + libc::WTERMSIG(ws) };
            let _ = st.set(code);
            return true;
        }
        r < 0
    };
    let result = session(&bin, &exe, pid as u32, "run", opts, || {
        // SAFETY: writing one byte to our pipe end, then closing it.
        let ok = unsafe { libc::write(go_fd, [1u8].as_ptr().cast(), 1) } == 1;
        unsafe { libc::close(go_fd) };
        if !ok {
            bail!("could not start {}", exe.display());
        }
        Ok(())
    }, || {
        if term.swap(false, Ordering::Relaxed) {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        int.swap(false, Ordering::Relaxed); // the terminal sent it to the program too
        !waited()
    });
    if let Err(e) = result {
        // SAFETY: closing the pipe makes the waiting child exit without running; reap it.
        unsafe {
            libc::close(go_fd);
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        return Err(e);
    }
    while status.get().is_none() {
        let mut ws = 0;
        // SAFETY: as above.
        if unsafe { libc::waitpid(pid, &mut ws, 0) } == pid {
            let code = if libc::WIFEXITED(ws) { libc::WEXITSTATUS(ws) } else { 128 + libc::WTERMSIG(ws) };
            let _ = status.set(code);
        } else {
            let _ = status.set(1);
        }
    }
    Ok(*status.get().unwrap())
}

/// `weft attach --pid N [--write-traceparent]`.
pub fn attach_cmd_with(pid: u32, opts: Options) -> Result<i32> {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if !proc_dir.exists() {
        bail!("weft attach: no process with pid {pid}");
    }
    check(opts)?;
    let exe = proc_dir.join("exe");
    let real = std::fs::read_link(&exe).with_context(|| format!("reading {} (is weft allowed to trace pid {pid}?)", exe.display()))?;
    let bin = Arc::new(GoBinary::open(&exe).with_context(|| format!("pid {pid} runs {}", real.display()))?);
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())?;
    session(&bin, &exe, pid, "attach", opts, || Ok(()), || !stop.load(Ordering::Relaxed) && proc_dir.exists())?;
    Ok(0)
}

/// The load bias of a PIE process: where its first PT_LOAD landed minus its link address.
fn load_bias(pid: u32, bin: &GoBinary) -> u64 {
    if !bin.pie {
        return 0;
    }
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    for l in maps.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() >= 6 && Path::new(f[5]) == exe && f[2].trim_start_matches('0').is_empty() {
            let start = u64::from_str_radix(f[0].split('-').next().unwrap_or("0"), 16).unwrap_or(0);
            return start.wrapping_sub(bin.first_load_vaddr() & !0xfff);
        }
    }
    0
}

/// How often goroutines that inherited a span are checked for having exited.
const SWEEP: Duration = Duration::from_secs(2);

/// Tells which (g address, goid) pairs of process `pid` still run: the g
/// still carries that goid and is not dead (`_Gdead` is 6 in every Go
/// release). One process_vm_readv per 512 goroutines; a read that fails
/// (the process is gone) means dead.
fn goroutines_alive(pid: u32, bin: &GoBinary) -> impl FnMut(&[(u64, u64)]) -> Vec<bool> {
    let goid_off = bin.offsets.get("runtime.g.goid");
    let status_off = bin.offsets.get("runtime.g.atomicstatus");
    move |gs: &[(u64, u64)]| {
        let (Some(goid_off), Some(status_off)) = (goid_off, status_off) else {
            return vec![true; gs.len()]; // cannot tell: keep them
        };
        let mut out = Vec::with_capacity(gs.len());
        for chunk in gs.chunks(512) {
            let mut buf = vec![[0u64; 2]; chunk.len()];
            let local: Vec<libc::iovec> = buf
                .iter_mut()
                .flat_map(|b| {
                    let (goid, status) = b.split_at_mut(1);
                    [
                        libc::iovec { iov_base: goid.as_mut_ptr().cast(), iov_len: 8 },
                        libc::iovec { iov_base: status.as_mut_ptr().cast(), iov_len: 4 },
                    ]
                })
                .collect();
            let remote: Vec<libc::iovec> = chunk
                .iter()
                .flat_map(|&(g, _)| {
                    [
                        libc::iovec { iov_base: (g + goid_off) as *mut libc::c_void, iov_len: 8 },
                        libc::iovec { iov_base: (g + status_off) as *mut libc::c_void, iov_len: 4 },
                    ]
                })
                .collect();
            // SAFETY: every local iovec points into `buf`, which outlives the call.
            let n = unsafe {
                libc::process_vm_readv(pid as libc::pid_t, local.as_ptr(), local.len() as _, remote.as_ptr(), remote.len() as _, 0)
            };
            let read = if n < 0 { 0 } else { n as usize / 12 };
            for (i, &(_, goid)) in chunk.iter().enumerate() {
                out.push(i < read && buf[i][0] == goid && buf[i][1] as u32 != 6);
            }
        }
        out
    }
}

fn session(
    bin: &Arc<GoBinary>,
    exe: &Path,
    pid: u32,
    verb: &str,
    opts: Options,
    ready: impl FnOnce() -> Result<()>,
    keep_going: impl FnMut() -> bool,
) -> Result<()> {
    let cfg = Config::from_env(&std::fs::read_link(exe).unwrap_or_else(|_| exe.to_path_buf()), pid, &bin.build.go_version);
    let endpoint = if cfg.disabled { "nowhere (OTEL_SDK_DISABLED)".to_string() } else { cfg.endpoint.clone() };
    let default_system = bin
        .build
        .deps
        .iter()
        .find_map(|m| crate::semconv::db_system_of_module(&m.path))
        .unwrap_or("other_sql");
    let b2 = bin.clone();
    let bias = OnceLock::new();
    let namer = move |itab: u64| -> Option<String> {
        let bias = *bias.get_or_init(|| load_bias(pid, &b2));
        b2.itab_type(itab.wrapping_sub(bias))
    };
    let seed: u128 = rand::random();
    let mut n = 0u128;
    let ids = move || {
        n += 1;
        let mut x = seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
        x ^= x >> 67;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9_94d0_49bb_1331_11eb);
        x ^ (x >> 61)
    };
    let engine = RefCell::new(Engine::new(Engine::clock_offset_now(), default_system, Box::new(namer), Box::new(ids)));
    let mut alive = goroutines_alive(pid, bin);
    let mut swept = Instant::now();
    let exporter = Exporter::start(cfg);
    let debug = std::env::var_os("WEFT_EBPF_DEBUG").is_some();
    let source = match &bin.offsets.source {
        crate::goelf::Source::Dwarf => "DWARF".to_string(),
        crate::goelf::Source::Pinned(r) => format!("the pinned table for Go {r}"),
    };
    let stats = probes::trace(
        bin,
        exe,
        pid,
        opts,
        |att| {
            eprintln!(
                "weft: {verb} pid {pid} ({}, {}{}, offsets from {source}): {} uprobes on {} functions; spans to {endpoint}",
                bin.build.go_version,
                if bin.pie { "PIE" } else { "static" },
                if bin.stripped { ", stripped" } else { "" },
                att.uprobes,
                att.probed.len(),
            );
            if !att.in_callers.is_empty() {
                eprintln!("weft: returns probed in the callers: {}", att.in_callers.join(", "));
            }
            for s in &att.skipped {
                eprintln!("weft: not probed: {s}");
            }
            if opts.write_traceparent {
                eprintln!(
                    "weft: --write-traceparent: writing into pid {pid}'s memory (bpf_probe_write_user; the kernel logs a warning)"
                );
            }
            ready()
        },
        |ev| {
            if debug {
                eprintln!("weft: event {ev:?}");
            }
            engine.borrow_mut().handle(ev);
        },
        || {
            let mut engine = engine.borrow_mut();
            exporter.send_all(engine.take());
            if swept.elapsed() >= SWEEP {
                engine.sweep(&mut alive);
                swept = Instant::now();
            }
        },
        keep_going,
    )?;
    let report = exporter.shutdown();
    let c = engine.borrow().counts;
    *LAST_STATS.lock().unwrap_or_else(|e| e.into_inner()) = Some(probes::Stats { unmatched: c.unmatched, ..stats });
    let mut line = format!("weft: {} spans", c.spans);
    if c.unfinished > 0 {
        line.push_str(&format!(", {} never returned (panic or Goexit)", c.unfinished));
    }
    if stats.dropped > 0 {
        line.push_str(&format!(", {} events lost (ring buffer full)", stats.dropped));
    }
    if opts.dry_run_write {
        line.push_str(&format!(", traceparent would have been written into {} requests", stats.tp_dry));
    }
    if opts.write_traceparent {
        line.push_str(&format!(", traceparent written into {} requests", stats.tp_written));
        if stats.tp_skipped > 0 {
            line.push_str(&format!(" ({} left alone: no room or unexpected buffer)", stats.tp_skipped));
        }
    }
    if report.failed > 0 {
        line.push_str(&format!("; {} could not be delivered: {}", report.failed, report.last_error.unwrap_or_default()));
    }
    eprintln!("{line}");
    Ok(())
}
