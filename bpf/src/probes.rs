//! Loading, configuring and attaching the probes (libbpf-rs over the
//! skeleton libbpf-cargo generated from `src/bpf/weft.bpf.c`), and reading
//! their ring buffer.
//!
//! Each probed function gets its entry program on the jump of its stack
//! check (else its first instruction) and its `*_end` program at every RET,
//! or, for a few functions, in their callers right after each call, where
//! the kernel emulates the instruction (file offsets from [`crate::goelf`]).
//! Uprobes are attached for the traced process only (perf's per-task
//! filter: other processes running the same binary get no breakpoints and
//! pay nothing), and the programs also check its tgid (in the config map).
//! `weft run` attaches to its forked child before the child execs the
//! program: the filter compares the task's address space when the binary
//! is mapped, which exec has switched by then.

pub mod skel {
    #![allow(clippy::all, missing_docs, dead_code, non_camel_case_types, unused_imports)]
    include!(concat!(env!("OUT_DIR"), "/weft.skel.rs"));
}

use std::mem::MaybeUninit;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use iced_x86::Register;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, ProgramMut, RingBufferBuilder, UprobeOpts};

use crate::events::raw::{weft_config, WEFT_AT_RUNQPUT, WEFT_AT_STACK_CHECK};
use crate::events::Event;
use crate::goelf::{offsets, GoBinary, Group};

/// One probed function: its entry program and return program (by name in
/// the skeleton), and the offsets group it needs.
struct Site {
    func: &'static str,
    entry: Option<&'static str>,
    ret: Option<&'static str>,
    group: Group,
}

const SITES: &[Site] = &[
    Site { func: "runtime.newproc1", entry: None, ret: Some("go_start_end"), group: Group::Runtime },
    Site { func: "net/http.serverHandler.ServeHTTP", entry: Some("http_server"), ret: Some("http_server_end"), group: Group::Http },
    Site { func: "net/http.(*Transport).roundTrip", entry: Some("http_client"), ret: Some("http_client_end"), group: Group::Http },
    Site { func: "database/sql.Open", entry: Some("sql_open"), ret: Some("sql_open_end"), group: Group::Runtime },
    Site { func: "database/sql.(*DB).queryDC", entry: Some("sql_query"), ret: Some("sql_query_end"), group: Group::Runtime },
    Site { func: "database/sql.(*DB).execDC", entry: Some("sql_exec"), ret: Some("sql_exec_end"), group: Group::Runtime },
    Site { func: "database/sql.(*Stmt).QueryContext", entry: Some("sql_stmt_query"), ret: Some("sql_query_end"), group: Group::Sql },
    Site { func: "database/sql.(*Stmt).ExecContext", entry: Some("sql_stmt_exec"), ret: Some("sql_exec_end"), group: Group::Sql },
    Site { func: "net/http.(*http2serverConn).newWriterAndRequest", entry: Some("h2_request"), ret: Some("h2_request_end"), group: Group::H2 },
    Site { func: "net/http/internal/http2.(*serverConn).newWriterAndRequest", entry: Some("h2_request"), ret: Some("h2_request_end"), group: Group::H2Internal },
];

/// Probes that write `traceparent` into outgoing requests; attached (and
/// loaded at all) only with [`Options::write_traceparent`].
const WRITE_SITES: &[Site] = &[
    Site { func: "net/http.(*Request).write", entry: Some("http_req_write"), ret: None, group: Group::Write },
    Site { func: "net/http.Header.writeSubset", entry: Some("http_header_write"), ret: None, group: Group::Write },
];
const DRY_WRITE_SITES: &[Site] = &[
    Site { func: "net/http.(*Request).write", entry: Some("http_req_write"), ret: None, group: Group::Write },
    Site { func: "net/http.Header.writeSubset", entry: Some("http_header_dry"), ret: None, group: Group::Write },
];

/// Functions whose return programs may run in the callers, right after
/// each call, instead of at their RETs; the result registers those programs
/// read (which must survive up to there); and how many levels up a caller
/// that just returns may be followed (only where the end program ignores a
/// return with no call open: server_calls, sql_calls). Others keep RETs.
fn caller_keep(func: &str) -> Option<(&'static [Register], u32)> {
    Some(match func {
        // http_server_end reads memory only (server_calls, by goroutine)
        "net/http.serverHandler.ServeHTTP" => (&[], 0),
        // (*Response, error): RAX; err RBX, RCX
        "net/http.(*Transport).roundTrip" => (&[Register::RAX, Register::RBX, Register::RCX], 0),
        // (*Rows, error): err RBX, RCX; called last in (*DB).query
        "database/sql.(*DB).queryDC" => (&[Register::RBX, Register::RCX], 1),
        // (Result, error): err RCX, RDI; called last in (*DB).exec
        "database/sql.(*DB).execDC" => (&[Register::RCX, Register::RDI], 1),
        _ => return None,
    })
}

/// What the user asked for beyond the default probes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Choose span ids in the probes and write `traceparent` into outgoing
    /// HTTP/1 requests (bpf_probe_write_user; see propagate.bpf.h).
    pub write_traceparent: bool,
    /// Everything `write_traceparent` does except the write itself (counted
    /// in [`Stats::tp_dry`]): for tests on kernels that refuse the write.
    #[doc(hidden)]
    pub dry_run_write: bool,
}

impl Options {
    fn choose_ids(&self) -> bool {
        self.write_traceparent || self.dry_run_write
    }
}

fn prog<'a, 'obj>(p: &'a mut skel::WeftProgs<'obj>, name: &str) -> &'a mut ProgramMut<'obj> {
    match name {
        "go_start_end" => &mut p.go_start_end,
        "http_server" => &mut p.http_server,
        "http_server_end" => &mut p.http_server_end,
        "http_client" => &mut p.http_client,
        "http_client_end" => &mut p.http_client_end,
        "sql_open" => &mut p.sql_open,
        "sql_open_end" => &mut p.sql_open_end,
        "sql_query" => &mut p.sql_query,
        "sql_exec" => &mut p.sql_exec,
        "sql_stmt_query" => &mut p.sql_stmt_query,
        "sql_stmt_exec" => &mut p.sql_stmt_exec,
        "sql_query_end" => &mut p.sql_query_end,
        "sql_exec_end" => &mut p.sql_exec_end,
        "h2_request" => &mut p.h2_request,
        "h2_request_end" => &mut p.h2_request_end,
        "http_req_write" => &mut p.http_req_write,
        "http_header_write" => &mut p.http_header_write,
        "http_header_dry" => &mut p.http_header_dry,
        other => unreachable!("no program {other}"),
    }
}

/// The config map's value for `bin`, tracing process `tgid`.
pub fn config_for(bin: &GoBinary, tgid: u32) -> weft_config {
    let mut c = weft_config { tgid, ..Default::default() };
    // Every field absent first; then each takes the first name this binary has.
    let mut set = std::collections::HashSet::new();
    for (pass, (field, dwarf, _)) in [false, true].into_iter().flat_map(|p| offsets::FIELDS.iter().map(move |f| (p, f))) {
        let v = match (pass, bin.offsets.get(dwarf)) {
            (false, _) => crate::events::raw::WEFT_NO_FIELD as u64,
            (true, Some(v)) if set.insert(*field) => v,
            (true, _) => continue,
        };
        let slot: &mut u64 = match *field {
            "g_goid" => &mut c.g_goid,
            "g_parent_goid" => &mut c.g_parent_goid,
            "g_status" => &mut c.g_status,
            "req_method" => &mut c.req_method,
            "req_url" => &mut c.req_url,
            "req_proto_major" => &mut c.req_proto_major,
            "req_proto_minor" => &mut c.req_proto_minor,
            "req_host" => &mut c.req_host,
            "req_remote_addr" => &mut c.req_remote_addr,
            "req_pat" => &mut c.req_pat,
            "pattern_str" => &mut c.pattern_str,
            "url_scheme" => &mut c.url_scheme,
            "url_user" => &mut c.url_user,
            "url_host" => &mut c.url_host,
            "url_path" => &mut c.url_path,
            "url_raw_query" => &mut c.url_raw_query,
            "resp_conn" => &mut c.resp_conn,
            "resp_status" => &mut c.resp_status,
            "resp_wrote_header" => &mut c.resp_wrote_header,
            "conn_bufr" => &mut c.conn_bufr,
            "bufio_buf" => &mut c.bufio_buf,
            "bufio_r" => &mut c.bufio_r,
            "response_status_code" => &mut c.response_status_code,
            "response_proto_major" => &mut c.response_proto_major,
            "response_proto_minor" => &mut c.response_proto_minor,
            "stmt_db" => &mut c.stmt_db,
            "stmt_query" => &mut c.stmt_query,
            "bufw_buf" => &mut c.bufw_buf,
            "bufw_n" => &mut c.bufw_n,
            "h2_fields" => &mut c.h2_fields,
            "h2_req_url" => &mut c.h2_req_url,
            "hf_name" => &mut c.hf_name,
            "hf_value" => &mut c.hf_value,
            "hf_sensitive" => &mut c.hf_size,
            "h2_rw_rws" => &mut c.h2_rw_rws,
            "h2_rws_status" => &mut c.h2_rws_status,
            "h2_rws_wrote" => &mut c.h2_rws_wrote,
            other => unreachable!("config has no field {other}"),
        };
        *slot = v;
    }
    // HeaderField's size: its last field (Sensitive, a bool) rounded up to 8.
    if c.hf_size != crate::events::raw::WEFT_NO_FIELD as u64 {
        c.hf_size = (c.hf_size + 8) & !7;
    }
    c
}

/// What attaching did: the functions probed, and those skipped and why.
#[derive(Debug, Default, Clone)]
pub struct Attached {
    pub probed: Vec<String>,
    pub skipped: Vec<String>,
    /// Uprobes placed (entries + return sites).
    pub uprobes: usize,
    /// Functions whose returns are probed in their callers (see
    /// [`caller_keep`]), with how many of those sites the kernel emulates.
    pub in_callers: Vec<String>,
}

/// What the ring buffer could not hold.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub dropped: u64,
    /// traceparent lines written into requests, and requests left alone.
    pub tp_written: u64,
    pub tp_skipped: u64,
    pub tp_dry: u64,
    /// Functions whose returns were probed in their callers.
    pub returns_in_callers: u64,
    /// Return events with no open span of their kind (filled in by cmd).
    pub unmatched: u64,
}

/// How often the ring buffer is drained when it is not filling up.
const POLL: Duration = Duration::from_millis(20);

/// Loads the probes, attaches them to `target` (the executable file) for
/// process `tgid`, calls `ready` once everything is attached, then hands
/// every event to `on_event`, and calls `drained` after each drain of the
/// ring buffer, until `keep_going` says stop; the ring buffer is drained
/// before returning.
#[allow(clippy::too_many_arguments)] // four of them are the loop's callbacks
pub fn trace(
    bin: &GoBinary,
    target: &Path,
    tgid: u32,
    opts: Options,
    ready: impl FnOnce(&Attached) -> Result<()>,
    mut on_event: impl FnMut(&Event),
    mut drained: impl FnMut(),
    mut keep_going: impl FnMut() -> bool,
) -> Result<Stats> {
    let mut storage = MaybeUninit::uninit();
    let mut open = skel::WeftSkelBuilder::default().open(&mut storage).map_err(|e| load_error("opening", e))?;
    // Never load bpf_probe_write_user unasked (the kernel warns, lockdown refuses).
    open.progs.http_header_write.set_autoload(opts.write_traceparent);
    open.progs.http_header_dry.set_autoload(opts.dry_run_write && !opts.write_traceparent);
    open.progs.http_req_write.set_autoload(opts.choose_ids());
    let mut skel = open.load().map_err(|e| load_error("loading", e))?;

    // The uprobes' per-task filter: checked once, not per probe.
    let pid = i32::try_from(tgid).ok().filter(|&p| p > 0).ok_or_else(|| anyhow!("no process to attach to (pid {tgid})"))?;
    let mut cfg = config_for(bin, tgid);
    cfg.write_traceparent = opts.choose_ids() as u64;
    // SAFETY: weft_config is plain old data; its bytes are the map value.
    let bytes = unsafe { std::slice::from_raw_parts((&cfg as *const weft_config).cast::<u8>(), std::mem::size_of::<weft_config>()) };
    skel.maps.weft_config_map.update(&0u32.to_ne_bytes(), bytes, MapFlags::ANY).context("writing the probes' config map")?;

    let mut links = Vec::new();
    let mut att = Attached::default();
    let write_sites = match (opts.write_traceparent, opts.dry_run_write) {
        (true, _) => WRITE_SITES,
        (false, true) => DRY_WRITE_SITES,
        _ => &[],
    };
    for site in SITES.iter().chain(write_sites) {
        if bin.func(site.func).is_none() {
            att.skipped.push(format!("{} (not in this binary)", site.func));
            continue;
        }
        let missing = bin.offsets.missing_for_site(site.group);
        if !missing.is_empty() {
            att.skipped.push(format!("{} (no offsets for {})", site.func, missing.join(", ")));
            continue;
        }
        if let Some(p) = site.entry {
            // On the stack check's jump when there is one (cookie: the
            // program skips the hit that goes on to morestack).
            let (off, cookie) = match bin.stack_check_offset(site.func) {
                Some(off) => (off, WEFT_AT_STACK_CHECK as u64),
                None => (bin.entry_offset(site.func)?, 0),
            };
            links.push(attach(prog(&mut skel.progs, p), pid, target, off, cookie, site.func)?);
            att.uprobes += 1;
        }
        if let (Some(p), Some(off)) = (site.ret, bin.newproc_runqput_offset().filter(|_| site.func == "runtime.newproc1")) {
            // newproc's runqput(pp, newg) call instead of newproc1's RETs
            // (goroutines newproc1 makes for iter.Pull are then not seen).
            links.push(attach(prog(&mut skel.progs, p), pid, target, off, WEFT_AT_RUNQPUT as u64, site.func)?);
            att.uprobes += 1;
        } else if let (Some(p), Some(sites)) = (site.ret, caller_keep(site.func).and_then(|(k, up)| bin.return_sites(site.func, k, up))) {
            // In the callers, right after each call (emulated CALL/JMP/Jcc).
            for &(off, _) in &sites {
                links.push(attach(prog(&mut skel.progs, p), pid, target, off, 0, site.func)?);
                att.uprobes += 1;
            }
            let emulated = sites.iter().filter(|s| s.1).count();
            att.in_callers.push(format!("{} ({emulated}/{} emulated)", site.func, sites.len()));
        } else if let Some(p) = site.ret {
            for off in bin.ret_offsets(site.func)? {
                links.push(attach(prog(&mut skel.progs, p), pid, target, off, 0, site.func)?);
                att.uprobes += 1;
            }
        }
        att.probed.push(site.func.to_string());
    }
    if !bin.offsets.missing(Group::Runtime).is_empty() {
        bail!("{}: no offset for runtime.g.goid; cannot tell goroutines apart", bin.path.display());
    }
    ready(&att)?;
    let returns_in_callers = att.in_callers.len() as u64;

    let mut rb = RingBufferBuilder::new();
    rb.add(&skel.maps.events, |data: &[u8]| {
        if let Some(ev) = Event::parse(data) {
            on_event(&ev);
        }
        0
    })?;
    let rb = rb.build()?;
    // The probes do not wake us per record (submit_flags in weft.bpf.c):
    // drain the ring every POLL, or earlier when it fills up.
    while keep_going() {
        rb.poll(POLL).or_else(|e| if e.kind() == libbpf_rs::ErrorKind::Interrupted { Ok(()) } else { Err(e) })?;
        rb.consume()?;
        drained();
    }
    rb.consume()?;
    drained();
    drop(rb);
    drop(links);
    let dropped = skel
        .maps
        .dropped
        .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
        .ok()
        .flatten()
        .map(|v| v.iter().map(|b| u64::from_ne_bytes(b[..8].try_into().unwrap_or_default())).sum())
        .unwrap_or(0);
    let tp = |i| percpu_sum(&skel.maps.tp_stats, i);
    Ok(Stats { dropped, tp_written: tp(0), tp_skipped: tp(1), tp_dry: tp(2), returns_in_callers, unmatched: 0 })
}

/// The sum over CPUs of slot `i` of a per-CPU u64 array.
fn percpu_sum(m: &impl MapCore, i: u32) -> u64 {
    m.lookup_percpu(&i.to_ne_bytes(), MapFlags::ANY)
        .ok()
        .flatten()
        .map(|v| v.iter().map(|b| u64::from_ne_bytes(b[..8].try_into().unwrap_or_default())).sum())
        .unwrap_or(0)
}

/// Why this kernel refuses the traceparent writer (bpf_probe_write_user),
/// found by loading it alone; `None` when it loads. Lockdown (integrity or
/// confidentiality) is the usual reason, and /sys/kernel/security may not
/// be mounted to say so.
pub fn write_refused() -> Option<String> {
    let mut storage = MaybeUninit::uninit();
    let prev = libbpf_rs::set_print(None); // the verifier's log is not for users
    let result = (|| {
        let mut open = skel::WeftSkelBuilder::default().open(&mut storage)?;
        for mut p in open.open_object_mut().progs_mut() {
            p.set_autoload(false);
        }
        open.progs.http_header_write.set_autoload(true);
        open.load().map(|_| ())
    })();
    libbpf_rs::set_print(prev);
    let e = result.err()?;
    Some(format!(
        "--write-traceparent: this kernel refuses bpf_probe_write_user ({e}); it does so under lockdown (dmesg: \"Kernel is locked down\"); run without --write-traceparent"
    ))
}

fn attach(p: &mut ProgramMut, pid: i32, target: &Path, off: u64, cookie: u64, func: &str) -> Result<libbpf_rs::Link> {
    p.attach_uprobe_with_opts(pid, target, off as usize, UprobeOpts { cookie, ..Default::default() })
        .with_context(|| format!("attaching a uprobe to {func} at file offset {off:#x} of {}", target.display()))
}

fn load_error(what: &str, e: libbpf_rs::Error) -> anyhow::Error {
    match e.kind() {
        libbpf_rs::ErrorKind::PermissionDenied => anyhow!(
            "{what} the eBPF probes was refused ({e}): run weft as root, or give it CAP_BPF and CAP_PERFMON"
        ),
        _ => anyhow!("{what} the eBPF probes failed: {e}"),
    }
}
