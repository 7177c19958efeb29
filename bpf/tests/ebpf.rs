//! End to end: plain `go build` binaries of tests/go/ebpf (normal, stripped,
//! PIE) run under `weft run --ebpf` (and one under `weft attach`) against a
//! real MariaDB; spans are received by weft's OTLP receiver, decoded with
//! the official protobuf definitions, and checked against what the
//! compile-time rules produce.
//!
//! What the kernel or machine lacks (privileges, BTF, uprobes, Go, MYSQL_DSN)
//! is printed, and the tests needing it are reported as ignored — never
//! passed silently.

mod fixture;

use std::path::Path;
use std::time::{Duration, Instant};

use fixture::Variant;
use libtest_mimic::{Arguments, Failed, Trial};
use weft::receiver::{Receiver, SpanKind, SpanRecord};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";
const H2_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const H2_PARENT: &str = "00f067aa0ba902b7";

fn wait_addr(file: &Path) -> Result<String, Failed> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        if let Ok(s) = std::fs::read_to_string(file) {
            return Ok(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("the fixture never wrote its address".into())
}

fn get(addr: &str, path: &str, traceparent: bool) -> Result<u16, Failed> {
    let mut req = ureq::get(&format!("http://{addr}{path}")).header("User-Agent", "weft-ebpf-test");
    if traceparent {
        req = req.header("traceparent", &format!("00-{TRACE}-{PARENT}-01"));
    }
    match req.call() {
        Ok(r) => Ok(r.status().as_u16()),
        Err(ureq::Error::StatusCode(c)) => Ok(c),
        Err(e) => Err(format!("GET {path}: {e}").into()),
    }
}

/// Requests every route (/call posts to `sink`), then /quit.
fn drive(addr: &str, sink: &str) -> Result<(), Failed> {
    assert_eq!(get(addr, "/items/1?color=red", true)?, 200);
    assert_eq!(get(addr, &format!("/call?to=http://{sink}/sink"), true)?, 200);
    assert_eq!(get(addr, "/count", false)?, 200);
    assert_eq!(get(addr, "/fail", false)?, 500);
    assert_eq!(get(addr, "/broken", false)?, 502);
    assert_eq!(get(addr, "/proxy", false)?, 200);
    let h2 = format!("/h2call?traceparent=00-{H2_TRACE}-{H2_PARENT}-01&tracestate=weft%3Dh2");
    assert_eq!(get(addr, &h2, false)?, 200, "the fixture's HTTP/2 call (Go 1.24+)");
    assert_eq!(get(addr, &h2.replace("/h2call", "/h2tls"), false)?, 200, "the fixture's HTTP/2 call over TLS");
    assert_eq!(get(addr, "/quit", false)?, 200);
    Ok(())
}

fn one<'a>(spans: &'a [SpanRecord], what: &str, f: impl Fn(&SpanRecord) -> bool) -> Result<&'a SpanRecord, Failed> {
    let m: Vec<&SpanRecord> = spans.iter().filter(|s| f(s)).collect();
    match m.as_slice() {
        [s] => Ok(s),
        _ => Err(format!("expected one {what}, found {}; spans: {:#?}", m.len(), spans.iter().map(|s| (&s.name, &s.span_id, &s.parent_span_id)).collect::<Vec<_>>()).into()),
    }
}

fn check_spans(spans: &[SpanRecord], exe_name: &str, wrote: bool) -> Result<(), Failed> {
    let server = one(spans, "GET /items/{id}", |s| s.name == "GET /items/{id}")?;
    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(server.trace_id, TRACE, "traceparent from the request headers");
    assert_eq!(server.parent_span_id, PARENT);
    assert_eq!(server.scope_name, "weft/net/http");
    assert_eq!(server.service_name, exe_name);
    assert_eq!(server.attr_str("http.request.method"), Some("GET"));
    assert_eq!(server.attr_str("http.route"), Some("/items/{id}"));
    assert_eq!(server.attr_str("url.path"), Some("/items/1"));
    assert_eq!(server.attr_str("url.query"), Some("color=REDACTED"));
    assert_eq!(server.attr_str("url.scheme"), Some("http"));
    assert_eq!(server.attr_str("server.address"), Some("127.0.0.1"));
    assert_eq!(server.attr_str("network.protocol.version"), Some("1.1"));
    assert_eq!(server.attr_str("user_agent.original"), Some("weft-ebpf-test"));
    assert_eq!(server.attr_str("client.address"), Some("127.0.0.1"));
    assert_eq!(server.attr_int("http.response.status_code"), Some(200));
    assert!(!server.is_error());

    let q = one(spans, "the SELECT under the request", |s| s.parent_span_id == server.span_id && s.scope_name == "weft/database/sql")?;
    assert_eq!(q.name, "SELECT ebpf_items");
    assert_eq!(q.kind, SpanKind::Client);
    assert_eq!(q.trace_id, TRACE);
    assert_eq!(q.attr_str("db.system.name"), Some("mysql"));
    assert_eq!(q.attr_str("db.operation.name"), Some("SELECT"));
    assert_eq!(q.attr_str("db.collection.name"), Some("ebpf_items"));
    assert_eq!(q.attr_str("db.query.text"), Some("SELECT name FROM ebpf_items WHERE id = ?"));
    let dsn = std::env::var("MYSQL_DSN").unwrap();
    let db = dsn.rsplit('/').next().unwrap().split('?').next().unwrap();
    assert_eq!(q.attr_str("db.namespace"), Some(db));
    assert!(q.attr_int("server.port").is_some());
    assert!(q.start_unix_nano >= server.start_unix_nano && q.end_unix_nano <= server.end_unix_nano);

    let c = one(spans, "the ctx-less client call from the child goroutine", |s| {
        s.parent_span_id == server.span_id && s.scope_name == "weft/net/http"
    })?;
    assert_eq!(c.name, "GET");
    assert_eq!(c.kind, SpanKind::Client);
    assert_eq!(c.trace_id, TRACE);
    assert!(c.attr_str("url.full").is_some_and(|u| u.starts_with("http://127.0.0.1:") && u.ends_with("/ping")), "{:?}", c.attr_str("url.full"));
    assert_eq!(c.attr_int("http.response.status_code"), Some(200));

    // The /ping it called: with --write-traceparent the request carried the
    // client span's context, so /ping continues the trace; else its own trace.
    let ping = one(spans, "GET /ping", |s| s.name == "GET /ping" && s.kind == SpanKind::Server)?;
    if wrote {
        assert_eq!((ping.trace_id.as_str(), ping.parent_span_id.as_str()), (TRACE, c.span_id.as_str()), "/ping joins the caller's trace");
    } else {
        assert!(ping.is_root() && ping.trace_id != TRACE, "/ping starts its own trace");
    }

    let count = one(spans, "GET /count", |s| s.name == "GET /count")?;
    let stmt = one(spans, "the prepared-statement query", |s| s.parent_span_id == count.span_id)?;
    assert_eq!(stmt.name, "SELECT ebpf_items");
    assert_eq!(stmt.attr_str("db.query.text"), Some("SELECT COUNT(*) FROM ebpf_items WHERE id > ?"));

    // httputil.ReverseProxy hands its request to the Transport itself (no
    // http.Client): the client span still comes from roundTrip.
    let proxy = one(spans, "GET /proxy", |s| s.name == "GET /proxy")?;
    let fwd = one(spans, "the proxied request", |s| s.parent_span_id == proxy.span_id)?;
    assert_eq!((fwd.name.as_str(), fwd.kind), ("GET", SpanKind::Client));
    assert!(fwd.attr_str("url.full").is_some_and(|u| u.ends_with("/backend")), "{:?}", fwd.attr_str("url.full"));
    assert_eq!(fwd.attr_int("http.response.status_code"), Some(200));
    let backend = one(spans, "GET /backend", |s| s.name == "GET /backend")?;
    if wrote {
        assert_eq!(backend.parent_span_id, fwd.span_id, "the backend continues the proxy's client span");
    } else {
        assert!(backend.is_root(), "the backend starts its own trace");
    }

    let fail = one(spans, "GET /fail", |s| s.name == "GET /fail")?;
    assert_eq!(fail.attr_int("http.response.status_code"), Some(500));
    assert!(fail.is_error());
    assert_eq!(fail.attr_str("error.type"), Some("500"));

    let ins = one(spans, "the startup INSERT", |s| s.name == "INSERT ebpf_items")?;
    assert!(ins.is_root());
    Ok(())
}

fn receiver() -> Result<Receiver, Failed> {
    let r = Receiver::start("127.0.0.1:0").map_err(|e| format!("{e:#}"))?;
    // SAFETY (edition 2021: safe): the tests run one at a time; the exporter reads these when a session starts.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", r.endpoint());
    std::env::remove_var("OTEL_SERVICE_NAME");
    Ok(r)
}

fn wait_spans(r: &Receiver) -> Vec<SpanRecord> {
    // Everything was flushed before the command returned; allow the receiver a moment.
    let t = Instant::now();
    let mut last = 0;
    loop {
        let n = r.spans().len();
        if (n > 0 && n == last) || t.elapsed() > Duration::from_secs(5) {
            return r.spans();
        }
        last = n;
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// /broken's SQL and client errors carry their message and error.type, as
/// the compile-time rules record them (MySQL's error number for the query,
/// Go's `%T` for the client); stripped binaries too (the type comes from the
/// runtime's type data).
fn check_errors(spans: &[SpanRecord]) -> Result<(), Failed> {
    let broken = one(spans, "GET /broken", |s| s.name == "GET /broken")?;
    let q = one(spans, "the failing query", |s| s.parent_span_id == broken.span_id && s.name == "SELECT ebpf_missing")?;
    let c = one(spans, "the refused client call", |s| s.parent_span_id == broken.span_id && s.name == "GET")?;
    assert!(q.is_error() && c.is_error());
    let dsn = std::env::var("MYSQL_DSN").unwrap();
    let db = dsn.rsplit('/').next().unwrap().split('?').next().unwrap();
    assert_eq!((q.attr_str("error.type"), q.attr_str("db.response.status_code")), (Some("1146"), Some("1146")));
    assert_eq!(q.status_message, format!("Error 1146 (42S02): Table '{db}.ebpf_missing' doesn't exist"));
    assert_eq!(c.attr_str("error.type"), Some("*net.OpError"));
    assert_eq!(c.status_message, "dial tcp 127.0.0.1:1: connect: connection refused");
    Ok(())
}

/// The HTTP/2 (h2c) server span continues the trace of its incoming
/// traceparent and carries its tracestate.
fn check_h2(spans: &[SpanRecord]) -> Result<(), Failed> {
    for name in ["GET /h2/ping", "GET /h2/tls"] {
        let s = one(spans, name, |s| s.name == name)?;
        assert_eq!(s.attr_str("network.protocol.version"), Some("2"), "{name}");
        assert_eq!((s.trace_id.as_str(), s.parent_span_id.as_str()), (H2_TRACE, H2_PARENT), "{name}: HTTP/2 incoming traceparent");
        assert_eq!(s.trace_state, "weft=h2", "{name}");
        assert_eq!(s.attr_int("http.response.status_code"), Some(200), "{name}");
        assert!(!s.is_error(), "{name}");
    }
    Ok(())
}

/// What the sink received from /call: a traceparent naming the client span
/// (with the flag), none without.
fn check_sink(spans: &[SpanRecord], sink: &fixture::Sink, wrote: bool) -> Result<(), Failed> {
    let call = one(spans, "GET /call", |s| s.name == "GET /call")?;
    let post = one(spans, "the POST to the sink", |s| s.name == "POST" && s.parent_span_id == call.span_id)?;
    assert_eq!(post.trace_id, TRACE);
    assert!(post.attr_str("url.full").is_some_and(|u| u.ends_with("/sink")));
    assert_eq!(sink.requests.lock().unwrap().len(), 1, "one request reached the sink");
    let tp = sink.header_values("traceparent");
    if wrote {
        assert_eq!(tp, vec![format!("00-{}-{}-01", post.trace_id, post.span_id)], "the sink got the client span's traceparent");
    } else {
        assert!(tp.is_empty(), "no traceparent without --write-traceparent: {tp:?}");
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Off,
    /// --write-traceparent
    On,
    /// probe-chosen ids and every check, without the write (locked-down kernels)
    Dry,
}

fn run_variant(v: Variant, mode: Write) -> Result<(), Failed> {
    let write = mode == Write::On;
    let bin = fixture::build(v)?;
    let sink = fixture::Sink::start()?;
    let r = receiver()?;
    let dir = tempfile::tempdir()?;
    let addr_file = dir.path().join("addr");
    std::env::set_var("ADDR_FILE", &addr_file);
    let args = vec![bin.clone().into_os_string()];
    let opts = weft_bpf::Options { write_traceparent: write, dry_run_write: mode == Write::Dry };
    let cmd = std::thread::spawn(move || weft_bpf::run_cmd_with(args, opts));
    let addr = wait_addr(&addr_file)?;
    drive(&addr, &sink.addr)?;
    let code = cmd.join().map_err(|_| "weft run panicked")?.map_err(|e| format!("{e:#}"))?;
    assert_eq!(code, 0, "weft run exits with the program's status");
    let spans = wait_spans(&r);
    check_spans(&spans, "server", write)?;
    check_sink(&spans, &sink, write)?;
    check_errors(&spans)?;
    check_h2(&spans)?;
    // Three HTTP/1 client requests: GET /ping (from /items/1), POST /sink
    // (from /call) and GET /backend (from /proxy).
    let st = weft_bpf::last_stats().ok_or("no stats")?;
    let counted = match mode {
        Write::Off => (0, 0, 0),
        Write::On => (3, 0, 0),
        Write::Dry => (0, 0, 3),
    };
    assert_eq!((st.tp_written, st.tp_skipped, st.tp_dry), counted, "traceparent lines (written, left alone, dry)");
    check_ends(&st)?;
    Ok(())
}

/// The server and SQL spans above ended through probes in the callers (the
/// emulated CALL/Jcc after each call, not the callee's RETs; for
/// queryDC/execDC in (*DB).query/exec's callers), and no return event came
/// without its entry (a second end for one call). Client spans end at
/// roundTrip's RETs: its one caller, (*Transport).RoundTrip, calls it last
/// and is itself called through an interface.
fn check_ends(st: &weft_bpf::probes::Stats) -> Result<(), Failed> {
    assert_eq!(st.returns_in_callers, 3, "ServeHTTP, queryDC and execDC end in their callers");
    assert_eq!(st.unmatched, 0, "return events without an open span");
    Ok(())
}

/// How many bytes of `bin`'s executable mappings in process `pid` differ
/// from the file: the breakpoints uprobes wrote into its text.
fn patched_bytes(pid: u32, bin: &Path) -> Result<usize, Failed> {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))?;
    let path = std::fs::canonicalize(bin)?;
    let file = std::fs::read(&path)?;
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem"))?;
    let (mut seen, mut differ) = (0, 0);
    for line in maps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || !f[1].contains('x') || Path::new(f[5]) != path {
            continue;
        }
        let (start, end) = f[0].split_once('-').ok_or("maps line")?;
        let (start, end) = (u64::from_str_radix(start, 16)?, u64::from_str_radix(end, 16)?);
        let off = usize::from_str_radix(f[2], 16)?;
        let len = ((end - start) as usize).min(file.len().saturating_sub(off));
        let mut text = vec![0u8; len];
        mem.seek(SeekFrom::Start(start))?;
        mem.read_exact(&mut text)?;
        seen += len;
        differ += text.iter().zip(&file[off..off + len]).filter(|(a, b)| a != b).count();
    }
    if seen == 0 {
        return Err(format!("no executable mapping of {} in process {pid}", path.display()).into());
    }
    Ok(differ)
}

/// A child process killed when dropped: a failed assertion must not leave
/// the fixture servers running.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn attach_running() -> Result<(), Failed> {
    let bin = fixture::build(Variant::Normal)?;
    let r = receiver()?;
    let dir = tempfile::tempdir()?;
    let addr_file = dir.path().join("addr");
    let mut child = Reaped(std::process::Command::new(&bin).env("ADDR_FILE", &addr_file).stdout(std::process::Stdio::null()).spawn()?);
    let child = &mut child.0;
    let addr = wait_addr(&addr_file)?;
    // Another process running the same binary, not attached to: it must
    // get no breakpoints (and so pay nothing).
    let other_file = dir.path().join("other");
    let mut other = Reaped(std::process::Command::new(&bin).env("ADDR_FILE", &other_file).stdout(std::process::Stdio::null()).spawn()?);
    let other = &mut other.0;
    let other_addr = wait_addr(&other_file)?;
    let sink = fixture::Sink::start()?;
    let pid = child.id();
    // The attach path with the traceparent machinery on (dry: see Write::Dry).
    let opts = weft_bpf::Options { dry_run_write: true, ..Default::default() };
    let cmd = std::thread::spawn(move || weft_bpf::attach_cmd_with(pid, opts));
    // Attaching takes a moment; requests before that are simply not traced.
    let t = Instant::now();
    while r.spans().iter().all(|s| s.name != "GET /ping") && t.elapsed() < Duration::from_secs(20) {
        get(&addr, "/ping", false)?;
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(patched_bytes(child.id(), &bin)? > 0, "the attached process has breakpoints");
    assert_eq!(patched_bytes(other.id(), &bin)?, 0, "a process weft is not attached to has none");
    get(&other_addr, "/quit", false)?;
    other.wait()?;
    drive(&addr, &sink.addr)?;
    child.wait()?;
    let code = cmd.join().map_err(|_| "weft attach panicked")?.map_err(|e| format!("{e:#}"))?;
    assert_eq!(code, 0, "weft attach exits 0 when the process exits");
    let spans = wait_spans(&r);
    let server = one(&spans, "GET /items/{id}", |s| s.name == "GET /items/{id}")?;
    assert_eq!(server.trace_id, TRACE);
    assert!(spans.iter().any(|s| s.parent_span_id == server.span_id && s.name == "SELECT ebpf_items"));
    check_sink(&spans, &sink, false)?;
    check_h2(&spans)?;
    let st = weft_bpf::last_stats().ok_or("no stats")?;
    assert_eq!((st.tp_written, st.tp_skipped, st.tp_dry), (0, 0, 3), "traceparent lines (written, left alone, dry)");
    Ok(())
}

/// Requests over one keep-alive connection: the probes keep the conn's
/// reader, remote address and last route per connection goroutine, and
/// each span must still get its own route, status and the one peer.
fn keep_alive() -> Result<(), Failed> {
    let bin = fixture::build(Variant::Normal)?;
    let r = receiver()?;
    let dir = tempfile::tempdir()?;
    let addr_file = dir.path().join("addr");
    std::env::set_var("ADDR_FILE", &addr_file);
    let args = vec![bin.into_os_string()];
    let cmd = std::thread::spawn(move || weft_bpf::run_cmd_with(args, weft_bpf::Options::default()));
    let addr = wait_addr(&addr_file)?;
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let paths = ["/count", "/fail", "/count", "/fail", "/count", "/quit"];
    for p in paths {
        let mut resp = agent.get(&format!("http://{addr}{p}")).call().map_err(|e| format!("GET {p}: {e}"))?;
        resp.body_mut().read_to_string().map_err(|e| format!("GET {p}: {e}"))?;
    }
    let code = cmd.join().map_err(|_| "weft run panicked")?.map_err(|e| format!("{e:#}"))?;
    assert_eq!(code, 0);
    let mut servers: Vec<SpanRecord> = wait_spans(&r).into_iter().filter(|s| s.kind == SpanKind::Server).collect();
    servers.sort_by_key(|s| s.start_unix_nano);
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    let want: Vec<String> = paths.iter().map(|p| format!("GET {p}")).collect();
    assert_eq!(names, want);
    for (s, p) in servers.iter().zip(paths) {
        assert_eq!(s.attr_str("http.route"), Some(p));
        assert_eq!(s.attr_str("url.path"), Some(p));
        assert_eq!(s.attr_int("http.response.status_code"), Some(if p == "/fail" { 500 } else { 200 }), "{p}");
        assert_eq!(s.attr_str("network.peer.address"), Some("127.0.0.1"));
        assert_eq!(s.attr_int("network.peer.port"), servers[0].attr_int("network.peer.port"), "one connection");
    }
    Ok(())
}

fn errors() -> Result<(), Failed> {
    let err = weft_bpf::attach_cmd(u32::MAX - 1).unwrap_err().to_string();
    assert!(err.contains("no process with pid"), "{err}");
    let err = weft_bpf::run_cmd(vec!["/bin/true".into()]).unwrap_err().to_string();
    assert!(err.contains("is not a Go program"), "{err}");
    let err = weft_bpf::run_cmd(vec!["definitely-not-a-program-weft".into()]).unwrap_err().to_string();
    assert!(err.contains("not found"), "{err}");
    Ok(())
}

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1); // each test forks, attaches probes and owns OTEL_* variables
    let mut missing = weft_bpf::prereq::missing();
    missing.extend(fixture::have_go());
    if std::env::var_os("MYSQL_DSN").is_none() {
        missing.push("MYSQL_DSN (start MariaDB: tests/services/mariadb.sh start; eval \"$(tests/services/mariadb.sh env)\")".into());
    }
    let skip = !missing.is_empty();
    let prereq_missing = !weft_bpf::prereq::missing().is_empty();
    if skip {
        println!("SKIPPED eBPF end-to-end tests; this machine lacks:");
        for m in &missing {
            println!("  - {m}");
        }
    }
    let mut trials: Vec<Trial> = Variant::ALL
        .iter()
        .map(|&v| Trial::test(format!("run_ebpf_{}", v.name()), move || run_variant(v, Write::Off)).with_ignored_flag(skip))
        .collect();
    // Writing into the target needs a kernel that allows bpf_probe_write_user (no lockdown).
    let refused = if prereq_missing { None } else { weft_bpf::probes::write_refused() };
    if let Some(why) = &refused {
        println!("SKIPPED write_traceparent_* (the dry-run tests still run): {why}");
    }
    for v in [Variant::Normal, Variant::Stripped] {
        trials.push(
            Trial::test(format!("write_traceparent_{}", v.name()), move || run_variant(v, Write::On))
                .with_ignored_flag(skip || refused.is_some()),
        );
        trials.push(Trial::test(format!("write_traceparent_dry_{}", v.name()), move || run_variant(v, Write::Dry)).with_ignored_flag(skip));
    }
    trials.push(Trial::test("attach_pid", attach_running).with_ignored_flag(skip));
    trials.push(Trial::test("keep_alive", keep_alive).with_ignored_flag(skip));
    trials.push(Trial::test("clear_errors", errors).with_ignored_flag(prereq_missing));
    libtest_mimic::run(&args, trials).exit();
}
