//! The OTLP/HTTP server: tiny_http on a background thread, decoding with the
//! official opentelemetry-proto types (prost for protobuf, the crate's serde
//! support for OTLP JSON), a shared span store tests can wait on, and an
//! optional printer thread that renders traces as they finish.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

use super::assemble::{Ready, TraceAssembler};
use super::model::{flatten, SpanRecord};
use super::render::render_continued_opts;

/// Largest request body accepted, before and after gzip decompression.
const MAX_BODY: u64 = 64 << 20;
/// How often the server thread looks at its stop flag.
const POLL: Duration = Duration::from_millis(50);
/// How long [`Receiver::finish`] waits for requests still arriving.
const FINISH_GRACE: Duration = Duration::from_millis(300);

/// How the live printer decides a trace is finished, and how it prints it.
#[derive(Debug, Clone, Copy)]
pub struct PrintOptions {
    /// Silence (no new span of the trace) after its root arrived before printing it.
    pub quiet: Duration,
    /// Silence before a trace whose root never arrived is printed anyway.
    pub orphan_after: Duration,
    /// ANSI colors, for terminals.
    pub color: bool,
    /// Every attribute of each span, one per line under it.
    pub attributes: bool,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions {
            quiet: Duration::from_secs(1),
            orphan_after: Duration::from_secs(10),
            color: false,
            attributes: false,
        }
    }
}

/// Request counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Export requests answered 200 (traces, metrics and logs).
    pub accepted: u64,
    /// Requests answered with an error status.
    pub rejected: u64,
    /// Spans stored.
    pub spans: u64,
}

#[derive(Default)]
struct Store {
    spans: Mutex<Vec<SpanRecord>>,
    changed: Condvar,
    stats: Mutex<Stats>,
    printer: Mutex<Option<mpsc::Sender<Vec<SpanRecord>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    /// Counts the spans and hands them to the printer when there is one;
    /// else keeps them for [`Receiver::spans`]. A printing receiver keeps
    /// nothing: `weft view` and `weft go run` may run for days.
    fn add(&self, records: Vec<SpanRecord>) {
        lock(&self.stats).spans += records.len() as u64;
        if let Some(tx) = lock(&self.printer).as_ref() {
            let _ = tx.send(records);
            return;
        }
        lock(&self.spans).extend(records);
        self.changed.notify_all();
    }

    fn count(&self, ok: bool) {
        let mut st = lock(&self.stats);
        if ok {
            st.accepted += 1;
        } else {
            st.rejected += 1;
        }
    }
}

/// A running OTLP/HTTP receiver. Stops on [`Receiver::shutdown`],
/// [`Receiver::finish`] or drop.
pub struct Receiver {
    addr: SocketAddr,
    store: Arc<Store>,
    stop: Arc<AtomicBool>,
    grace_ms: Arc<AtomicU64>,
    server: Option<JoinHandle<()>>,
    printer: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Listens on `addr` (`127.0.0.1:0` picks a free port) and serves on a
    /// background thread, keeping every span received (for tests: nothing
    /// bounds them).
    pub fn start(addr: &str) -> anyhow::Result<Receiver> {
        let server = tiny_http::Server::http(addr).map_err(|e| {
            let in_use = e
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::AddrInUse);
            let hint = if in_use {
                " (another receiver or collector is using that port: stop it or pick another)"
            } else {
                ""
            };
            anyhow!("cannot listen on {addr}: {e}{hint}")
        })?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| anyhow!("{addr} is not an IP address"))?;
        let store = Arc::new(Store::default());
        let stop = Arc::new(AtomicBool::new(false));
        let grace_ms = Arc::new(AtomicU64::new(0));
        let thread = {
            let (store, stop, grace_ms) = (store.clone(), stop.clone(), grace_ms.clone());
            std::thread::Builder::new()
                .name("weft-otlp-receiver".into())
                .spawn(move || serve(server, &store, &stop, &grace_ms))
                .context("cannot start the receiver thread")?
        };
        Ok(Receiver {
            addr,
            store,
            stop,
            grace_ms,
            server: Some(thread),
            printer: None,
        })
    }

    /// Like [`Receiver::start`], but prints each trace to `out` once it is
    /// finished (root received, then `quiet` without new spans of it)
    /// instead of keeping the spans: [`Receiver::spans`] stays empty.
    pub fn start_with_printer(
        addr: &str,
        quiet: Duration,
        out: Box<dyn Write + Send>,
    ) -> anyhow::Result<Receiver> {
        Receiver::start_printing(
            addr,
            PrintOptions {
                quiet,
                ..PrintOptions::default()
            },
            out,
        )
    }

    /// Like [`Receiver::start_with_printer`], with every printing option.
    pub fn start_printing(
        addr: &str,
        opts: PrintOptions,
        out: Box<dyn Write + Send>,
    ) -> anyhow::Result<Receiver> {
        let mut r = Receiver::start(addr)?;
        r.attach_printer(opts, out)?;
        Ok(r)
    }

    fn attach_printer(
        &mut self,
        opts: PrintOptions,
        out: Box<dyn Write + Send>,
    ) -> anyhow::Result<()> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("weft-trace-printer".into())
            .spawn(move || print_loop(rx, opts, out))
            .context("cannot start the printer thread")?;
        *lock(&self.store.printer) = Some(tx);
        self.printer = Some(thread);
        Ok(())
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The base URL for `OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `http://127.0.0.1:4318`
    /// (loopback when listening on all interfaces).
    pub fn endpoint(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// The full traces URL, for `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
    pub fn traces_endpoint(&self) -> String {
        format!("{}/v1/traces", self.endpoint())
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<SpanRecord> {
        lock(&self.store.spans).clone()
    }

    /// Waits until `pred` holds for the spans received (checked on each
    /// arrival) or `timeout` passes; returns the spans either way.
    pub fn wait_for(
        &self,
        pred: impl Fn(&[SpanRecord]) -> bool,
        timeout: Duration,
    ) -> Vec<SpanRecord> {
        let deadline = Instant::now() + timeout;
        let mut spans = lock(&self.store.spans);
        loop {
            if pred(&spans) {
                return spans.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                return spans.clone();
            }
            spans = self
                .store
                .changed
                .wait_timeout(spans, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits until at least `n` spans arrived or `timeout` passes.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<SpanRecord> {
        self.wait_for(|s| s.len() >= n, timeout)
    }

    /// The spans received, grouped by trace id, each trace ordered by start time.
    pub fn traces(&self) -> BTreeMap<String, Vec<SpanRecord>> {
        let mut out: BTreeMap<String, Vec<SpanRecord>> = BTreeMap::new();
        for s in self.spans() {
            out.entry(s.trace_id.clone()).or_default().push(s);
        }
        for t in out.values_mut() {
            t.sort_by(|a, b| (a.start_unix_nano, &a.span_id).cmp(&(b.start_unix_nano, &b.span_id)));
        }
        out
    }

    /// Forgets the spans received so far (the printer is not affected).
    pub fn clear(&self) {
        lock(&self.store.spans).clear();
    }

    pub fn stats(&self) -> Stats {
        *lock(&self.store.stats)
    }

    /// Stops now: answers requests already queued, then closes the port.
    /// The printer, if any, prints every trace still pending.
    pub fn shutdown(mut self) {
        self.stop_all(Duration::ZERO);
    }

    /// For the end of `weft go run`: waits briefly for requests still
    /// arriving, then stops like [`Receiver::shutdown`].
    pub fn finish(self) {
        self.finish_within(FINISH_GRACE)
    }

    /// Like [`Receiver::finish`], stopping once no request came for `grace`.
    pub fn finish_within(mut self, grace: Duration) {
        self.stop_all(grace);
    }

    /// Blocks until the server thread ends, which it does only on a fatal error.
    pub fn wait(mut self) {
        if let Some(t) = self.server.take() {
            let _ = t.join();
        }
        self.stop_all(Duration::ZERO);
    }

    fn stop_all(&mut self, grace: Duration) {
        self.grace_ms
            .store(grace.as_millis() as u64, Ordering::SeqCst);
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.server.take() {
            let _ = t.join();
            self.wait_port_closed();
        }
        // Closing the channel makes the printer flush what is pending and exit.
        lock(&self.store.printer).take();
        if let Some(t) = self.printer.take() {
            let _ = t.join();
        }
    }
}

impl Receiver {
    /// tiny_http closes its listener on its own accept thread, after the
    /// server is dropped, without a way to join it; wait until connections
    /// are refused, so the port can be bound again once shutdown returns.
    fn wait_port_closed(&self) {
        let target: SocketAddr = match self.endpoint().trim_start_matches("http://").parse() {
            Ok(a) => a,
            Err(_) => return,
        };
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect_timeout(&target, Duration::from_millis(100)).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop_all(Duration::ZERO);
    }
}

/// `weft view`: receives on `addr` and prints each trace to `out` as it
/// finishes, until the process is stopped.
pub fn run_view(addr: &str, opts: PrintOptions, out: Box<dyn Write + Send>) -> anyhow::Result<()> {
    start_view(addr, opts, out)?.wait();
    Err(anyhow!("the OTLP receiver on {addr} stopped"))
}

/// What [`run_view`] runs: writes a banner saying where to send traces,
/// then prints traces as they finish. Stop it with [`Receiver::finish`].
pub fn start_view(
    addr: &str,
    opts: PrintOptions,
    mut out: Box<dyn Write + Send>,
) -> anyhow::Result<Receiver> {
    let mut r = Receiver::start(addr)?;
    writeln!(
        out,
        "weft view: receiving OTLP/HTTP on {ep}\n  point programs at it with OTEL_EXPORTER_OTLP_ENDPOINT={ep} \
         OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\n  traces print once finished; Ctrl-C to stop\n",
        ep = r.endpoint()
    )?;
    out.flush()?;
    r.attach_printer(opts, out)?;
    Ok(r)
}

fn print_loop(
    rx: mpsc::Receiver<Vec<SpanRecord>>,
    opts: PrintOptions,
    mut out: Box<dyn Write + Send>,
) {
    let mut asm = TraceAssembler::new(opts.quiet, opts.orphan_after);
    let tick = (opts.quiet / 4).clamp(Duration::from_millis(5), Duration::from_millis(100));
    let mut print = |traces: Vec<Ready>| {
        for t in traces {
            // A closed terminal or pipe must not take the receiver down.
            let text = render_continued_opts(&t.spans, opts.color, opts.attributes, &t.earlier) + "\n";
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    };
    loop {
        match rx.recv_timeout(tick) {
            Ok(spans) => asm.push(spans, Instant::now()),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                print(asm.flush_all());
                return;
            }
        }
        print(asm.take_ready(Instant::now()));
    }
}

fn serve(server: tiny_http::Server, store: &Store, stop: &AtomicBool, grace_ms: &AtomicU64) {
    loop {
        if stop.load(Ordering::SeqCst) {
            let grace = Duration::from_millis(grace_ms.load(Ordering::SeqCst));
            loop {
                let next = if grace.is_zero() {
                    server.try_recv()
                } else {
                    server.recv_timeout(grace)
                };
                match next {
                    Ok(Some(rq)) => handle(rq, store),
                    _ => return,
                }
            }
        }
        match server.recv_timeout(POLL) {
            Ok(Some(rq)) => handle(rq, store),
            Ok(None) => {}
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Protobuf,
    Json,
}

struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

fn error(status: u16, msg: String) -> Reply {
    Reply {
        status,
        content_type: "text/plain; charset=utf-8",
        body: (msg + "\n").into_bytes(),
    }
}

fn header(rq: &tiny_http::Request, name: &str) -> Option<String> {
    rq.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().trim().to_string())
}

fn handle(mut rq: tiny_http::Request, store: &Store) {
    let reply = answer(&mut rq, store);
    store.count(reply.status == 200);
    let ct =
        tiny_http::Header::from_bytes("Content-Type", reply.content_type).expect("static header");
    let resp = tiny_http::Response::from_data(reply.body)
        .with_status_code(reply.status)
        .with_header(ct);
    // The client may have gone away; nothing to do about it.
    let _ = rq.respond(resp);
}

fn answer(rq: &mut tiny_http::Request, store: &Store) -> Reply {
    let path = rq.url().split('?').next().unwrap_or("").to_string();
    let is_traces = match path.as_str() {
        "/v1/traces" => true,
        "/v1/metrics" | "/v1/logs" => false,
        _ => {
            return error(
                404,
                format!("no such path {path}: this OTLP/HTTP receiver serves POST /v1/traces"),
            )
        }
    };
    if *rq.method() != tiny_http::Method::Post {
        return error(
            405,
            format!("{} {path}: OTLP/HTTP exports use POST", rq.method()),
        );
    }
    let ct = header(rq, "Content-Type").unwrap_or_default();
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let format = match media.as_str() {
        "application/x-protobuf" | "application/protobuf" | "" => Format::Protobuf,
        "application/json" => Format::Json,
        _ => {
            let msg = "send application/x-protobuf or application/json";
            return error(415, format!("unsupported Content-Type {ct:?}: {msg}"));
        }
    };
    let encoding = header(rq, "Content-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !matches!(encoding.as_str(), "" | "identity" | "gzip") {
        return error(
            415,
            format!("unsupported Content-Encoding {encoding:?}: send gzip or no encoding"),
        );
    }
    let mut raw = Vec::new();
    if let Err(e) = rq.as_reader().take(MAX_BODY + 1).read_to_end(&mut raw) {
        return error(400, format!("cannot read the request body: {e}"));
    }
    if raw.len() as u64 > MAX_BODY {
        return error(413, format!("request body over {MAX_BODY} bytes"));
    }
    let body = if encoding == "gzip" {
        let mut body = Vec::new();
        let gz = flate2::read::GzDecoder::new(raw.as_slice());
        if let Err(e) = gz.take(MAX_BODY + 1).read_to_end(&mut body) {
            return error(400, format!("bad gzip body: {e}"));
        }
        if body.len() as u64 > MAX_BODY {
            return error(413, format!("decompressed body over {MAX_BODY} bytes"));
        }
        body
    } else {
        raw
    };
    if is_traces {
        let req = match format {
            Format::Protobuf => ExportTraceServiceRequest::decode(body.as_slice())
                .map_err(|e| format!("bad protobuf ExportTraceServiceRequest: {e}")),
            Format::Json => serde_json::from_slice::<ExportTraceServiceRequest>(&body)
                .map_err(|e| format!("bad OTLP JSON ExportTraceServiceRequest: {e}")),
        };
        match req {
            Ok(req) => store.add(flatten(&req)),
            Err(msg) => return error(400, msg),
        }
    }
    // Metrics and logs are accepted and dropped, so SDKs exporting them stay quiet.
    // Every empty Export*ServiceResponse encodes the same way.
    match format {
        Format::Protobuf => Reply {
            status: 200,
            content_type: "application/x-protobuf",
            body: ExportTraceServiceResponse::default().encode_to_vec(),
        },
        Format::Json => Reply {
            status: 200,
            content_type: "application/json",
            body: b"{}".to_vec(),
        },
    }
}
