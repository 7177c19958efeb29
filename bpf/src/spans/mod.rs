//! From probe events to finished spans, with the names and attributes the
//! compile-time rules give (rules/nethttp/*.go, rules/databasesql/sql.go).
//!
//! [`Engine`] keeps, per goroutine id, the stack of spans open on it and the
//! span context it inherited from the goroutine that created it
//! (`runtime.newproc1`), so a call in a child goroutine without a
//! `context.Context` still lands under the request that spawned it — the
//! same rule the woven runtime applies through its `g` field. Entry and
//! return events pair by goroutine id (never thread or g address: goroutines
//! migrate, g structs are reused). Goroutine exits are not probed (that
//! would cost a trap per goroutine): a goroutine's state goes when its
//! stack empties, unless it inherited a span; those keep their g's address
//! and [`Engine::sweep`] drops them once that g is dead or reused, counting
//! spans still open then (a panic, runtime.Goexit) as never returned.
//! Server spans take their parent only from an incoming `traceparent`, as
//! the woven server does (the request's context starts fresh).

pub mod errmsg;
pub mod http;
pub mod intern;
mod propagate;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

use rustc_hash::FxHashMap;

use crate::events::{Event, Kind};
use crate::semconv;

/// An attribute value (constant texts are not copied).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Cow<'static, str>),
    Int(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Server,
    Client,
}

/// A finished span.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
    pub trace_state: String,
    pub flags: u8,
    pub name: Cow<'static, str>,
    pub kind: SpanKind,
    pub scope: &'static str,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub attrs: Vec<(&'static str, Value)>,
    /// Set for errors: (message); status is unset otherwise.
    pub error: Option<String>,
    /// Still being built by its start handler (attributes are new keys).
    #[doc(hidden)]
    pub fresh: bool,
}

impl Span {
    fn set(&mut self, k: &'static str, v: Value) {
        if self.fresh {
            // Set by the *_start handlers only: each key once, no search.
            debug_assert!(self.attr(k).is_none(), "{k} set twice");
            self.attrs.push((k, v));
            return;
        }
        match self.attrs.iter_mut().find(|(x, _)| *x == k) {
            Some(a) => a.1 = v,
            None => self.attrs.push((k, v)),
        }
    }
    fn set_str(&mut self, k: &'static str, v: impl Into<Cow<'static, str>>) {
        self.set(k, Value::Str(v.into()));
    }
    fn set_int(&mut self, k: &'static str, v: i64) {
        self.set(k, Value::Int(v));
    }
    fn set_error(&mut self, error_type: &str, message: &str) {
        self.set_str("error.type", if error_type.is_empty() { "_OTHER".into() } else { error_type.to_string() });
        self.error = Some(message.to_string());
    }
    pub fn attr(&self, k: &str) -> Option<&Value> {
        self.attrs.iter().find(|(x, _)| *x == k).map(|(_, v)| v)
    }
}

/// What a child inherits: the current span's context.
#[derive(Debug, Clone, PartialEq)]
struct Ctx {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    flags: u8,
    trace_state: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenKind {
    Server,
    Client,
    Sql,
}

#[derive(Debug)]
struct Open {
    kind: OpenKind,
    span: Span,
    /// Server: the request method (for the route name).
    method: Cow<'static, str>,
}

#[derive(Default, Debug)]
struct G {
    stack: Vec<Open>,
    inherited: Option<Ctx>,
    /// The goroutine's g (from runtime.newproc1), 0 when not known.
    g_addr: u64,
}

#[derive(Debug, Clone, Default)]
struct DbInfo {
    system: String,
    host: String,
    port: u16,
    namespace: String,
}

/// Given (g address, goid) pairs, says in order which goroutines still run.
pub type Alive<'a> = dyn FnMut(&[(u64, u64)]) -> Vec<bool> + 'a;

/// Counters worth reporting at exit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub spans: u64,
    /// Spans whose goroutine exited before they returned (panic, Goexit).
    pub unfinished: u64,
    /// Return events with no matching entry (attached mid-call).
    pub unmatched: u64,
}

pub struct Engine {
    /// Added to CLOCK_MONOTONIC nanoseconds to get Unix nanoseconds.
    clock_offset: i128,
    gs: FxHashMap<u64, G>,
    /// Emptied stacks of goroutines that went, for the next ones.
    spare: Vec<Vec<Open>>,
    texts: intern::Interner,
    /// Scratch for names built per span.
    buf: String,
    dbs: HashMap<u64, DbInfo>,
    opening: HashMap<u64, (String, String)>,
    /// db.system.name when no sql.Open was seen (from the driver modules in buildinfo).
    default_db_system: String,
    /// Names an error's itab address ("*net.OpError").
    error_type: Box<dyn Fn(u64) -> Option<String> + Send>,
    ids: Box<dyn FnMut() -> u128 + Send>,
    done: Vec<Span>,
    pub counts: Counts,
}

impl Engine {
    pub fn new(
        clock_offset: i128,
        default_db_system: &str,
        error_type: Box<dyn Fn(u64) -> Option<String> + Send>,
        ids: Box<dyn FnMut() -> u128 + Send>,
    ) -> Engine {
        Engine {
            clock_offset,
            gs: FxHashMap::default(),
            spare: Vec::new(),
            texts: intern::Interner::default(),
            buf: String::new(),
            dbs: HashMap::new(),
            opening: HashMap::new(),
            default_db_system: default_db_system.to_string(),
            error_type,
            ids,
            done: Vec::new(),
            counts: Counts::default(),
        }
    }

    /// The offset between CLOCK_REALTIME and CLOCK_MONOTONIC (bpf_ktime_get_ns) now.
    pub fn clock_offset_now() -> i128 {
        let mut mono = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes the timespec it is given.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut mono) };
        let real = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos() as i128;
        real - (mono.tv_sec as i128 * 1_000_000_000 + mono.tv_nsec as i128)
    }

    /// Finished spans since the last call.
    pub fn take(&mut self) -> Vec<Span> {
        std::mem::take(&mut self.done)
    }

    fn unix(&self, ktime: u64) -> u64 {
        (ktime as i128 + self.clock_offset).max(0) as u64
    }

    fn current(&self, goid: u64) -> Option<Ctx> {
        let g = self.gs.get(&goid)?;
        match g.stack.last() {
            Some(o) => Some(Ctx {
                trace_id: o.span.trace_id,
                span_id: o.span.span_id,
                flags: o.span.flags,
                trace_state: o.span.trace_state.clone(),
            }),
            None => g.inherited.clone(),
        }
    }

    fn new_span(&mut self, parent: Option<Ctx>, name: Cow<'static, str>, kind: SpanKind, scope: &'static str, ktime: u64) -> Span {
        let id = (self.ids)();
        let mut span_id = (id as u64).to_be_bytes();
        if span_id == [0; 8] {
            span_id[7] = 1;
        }
        let (trace_id, parent_span_id, flags, trace_state) = match parent {
            Some(p) => (p.trace_id, Some(p.span_id), p.flags, p.trace_state),
            None => {
                let mut t = ((self.ids)() ^ (id << 64)).to_be_bytes();
                if t == [0; 16] {
                    t[15] = 1;
                }
                (t, None, 1, String::new())
            }
        };
        Span {
            trace_id,
            span_id,
            parent_span_id,
            trace_state,
            flags,
            name,
            kind,
            scope,
            start_unix_nano: self.unix(ktime),
            end_unix_nano: 0,
            attrs: Vec::with_capacity(16),
            error: None,
            fresh: true,
        }
    }

    fn push(&mut self, goid: u64, kind: OpenKind, mut span: Span, method: Cow<'static, str>) {
        span.fresh = false;
        let spare = &mut self.spare;
        let g = self.gs.entry(goid).or_insert_with(|| G { stack: spare.pop().unwrap_or_default(), ..G::default() });
        g.stack.push(Open { kind, span, method });
    }

    /// Pops the innermost open span of `kind` on `goid` (and drops any opened
    /// after it that never returned).
    fn pop(&mut self, goid: u64, kind: OpenKind) -> Option<Open> {
        let g = self.gs.get_mut(&goid)?;
        let i = g.stack.iter().rposition(|o| o.kind == kind);
        let Some(i) = i else {
            self.counts.unmatched += 1;
            return None;
        };
        self.counts.unfinished += (g.stack.len() - i - 1) as u64;
        g.stack.truncate(i + 1);
        let o = g.stack.pop();
        if g.stack.is_empty() && g.inherited.is_none() {
            if let Some(g) = self.gs.remove(&goid) {
                if self.spare.len() < 64 {
                    self.spare.push(g.stack);
                }
            }
        }
        o
    }

    /// Drops the state of goroutines that have exited: `alive` gets
    /// (g address, goid) pairs and says, in order, which still run.
    pub fn sweep(&mut self, alive: &mut Alive<'_>) {
        let known: Vec<(u64, u64)> = self.gs.iter().filter(|(_, g)| g.g_addr != 0).map(|(id, g)| (g.g_addr, *id)).collect();
        if known.is_empty() {
            return;
        }
        for (&(_, goid), live) in known.iter().zip(alive(&known)) {
            if !live {
                if let Some(g) = self.gs.remove(&goid) {
                    self.counts.unfinished += g.stack.len() as u64;
                }
            }
        }
    }

    /// Goroutines the engine keeps state for.
    pub fn goroutines(&self) -> usize {
        self.gs.len()
    }

    fn finish(&mut self, mut o: Open, ktime: u64) {
        o.span.end_unix_nano = self.unix(ktime).max(o.span.start_unix_nano);
        self.counts.spans += 1;
        self.done.push(o.span);
    }

    fn err_type(&self, itab: u64) -> String {
        (self.error_type)(itab).unwrap_or_default()
    }

    /// error.type from the error's itab (num[3]) and, where its layout is
    /// known, the status message from the probe's snapshot; a database's
    /// own error code, where the snapshot has one, is error.type and
    /// db.response.status_code instead.
    fn set_go_error(&self, span: &mut Span, e: &Event) {
        let t = self.err_type(e.num[3]);
        let msg = if t.is_empty() { None } else { errmsg::message(&t, e, &|i| (self.error_type)(i)) };
        match errmsg::db_code(&t, e) {
            Some(code) => {
                span.set_error(&code, msg.as_deref().unwrap_or(""));
                span.set_str("db.response.status_code", code);
            }
            None => span.set_error(&t, msg.as_deref().unwrap_or("")),
        }
    }

    pub fn handle(&mut self, e: &Event) {
        match e.kind() {
            Kind::GoStart => {
                let (parent, child, g_addr) = (e.num[0], e.num[1], e.num[2]);
                if let Some(ctx) = self.current(parent) {
                    let g = self.gs.entry(child).or_default();
                    g.inherited = Some(ctx);
                    g.g_addr = g_addr;
                }
            }
            Kind::HttpServerStart => self.server_start(e),
            Kind::HttpServerEnd => {
                if let Some(mut o) = self.pop(e.goid, OpenKind::Server) {
                    self.server_end(&mut o, e);
                    self.finish(o, e.ktime_ns);
                }
            }
            Kind::HttpClientStart => self.client_start(e),
            Kind::HttpClientEnd => {
                if let Some(mut o) = self.pop(e.goid, OpenKind::Client) {
                    let status = e.num[0] as i64;
                    if status > 0 {
                        o.span.set_int("http.response.status_code", status);
                        o.span.set_str("network.protocol.version", proto_version(e.num[1], e.num[2]));
                        if status >= 400 {
                            o.span.set_error(&status.to_string(), "");
                        }
                    } else if e.num[3] != 0 {
                        self.set_go_error(&mut o.span, e);
                    }
                    self.finish(o, e.ktime_ns);
                }
            }
            Kind::SqlOpenStart => {
                self.opening.insert(e.goid, (e.str(0).into_owned(), e.raw_str().into_owned()));
            }
            Kind::SqlOpenEnd => {
                if let Some((driver, dsn)) = self.opening.remove(&e.goid) {
                    if e.num[0] != 0 {
                        let system = semconv::db_system(&driver).to_string();
                        let (host, port, namespace) = semconv::dsn_info(&system, &dsn);
                        self.dbs.insert(e.num[0], DbInfo { system, host, port, namespace });
                    }
                }
            }
            Kind::SqlStart => self.sql_start(e),
            Kind::SqlEnd => {
                if let Some(mut o) = self.pop(e.goid, OpenKind::Sql) {
                    if e.num[3] != 0 {
                        self.set_go_error(&mut o.span, e);
                    }
                    self.finish(o, e.ktime_ns);
                }
            }
        }
    }

    fn server_start(&mut self, e: &Event) {
        let (method, original) = method_of(&e.str(0));
        let path = e.str(1);
        let headers = if e.num[0] == 2 {
            http::Wanted::from_headers(http::header_lines(e.raw))
        } else {
            http::request_header_iter(e.raw, &e.str(0), &path).map(http::Wanted::from_headers).unwrap_or_default()
        };
        let parent = headers.traceparent.and_then(http::parse_traceparent).map(|(t, s, f)| Ctx {
            trace_id: t,
            span_id: s,
            flags: f,
            trace_state: headers.tracestate.unwrap_or("").to_string(),
        });
        let mut span = self.new_span(parent, method.clone(), SpanKind::Server, "weft/net/http", e.ktime_ns);
        if let Some(ids) = &e.ids {
            propagate::adopt(&mut span, ids, true);
        }
        span.set_str("http.request.method", method.clone());
        if !original.is_empty() {
            span.set_str("http.request.method_original", original);
        }
        let scheme = "http";
        span.set_str("url.scheme", scheme);
        span.set_str("url.path", self.texts.get(&path));
        let q = e.str(2);
        if !q.is_empty() {
            span.set_str("url.query", semconv::redact_query(&q));
        }
        let host = e.str(3);
        if !host.is_empty() {
            let (h, p) = host_port(&host, scheme);
            span.set_str("server.address", self.texts.get(h));
            span.set_int("server.port", p);
        }
        span.set_str("network.protocol.version", proto_version(e.num[0], e.num[1]));
        if let Some(ua) = headers.user_agent {
            span.set_str("user_agent.original", self.texts.get(ua));
        }
        let remote = e.str(4);
        if let Some((h, p)) = split_host_port(&remote) {
            let peer = self.texts.get(h);
            span.set_str("network.peer.address", peer.clone());
            if let Ok(p) = p.parse::<i64>() {
                span.set_int("network.peer.port", p);
            }
            let client = match headers.forwarded_for {
                Some(f) => self.texts.get(f.split(',').next().unwrap_or("").trim()),
                None => peer,
            };
            span.set_str("client.address", client);
        }
        self.push(e.goid, OpenKind::Server, span, method);
    }

    fn client_start(&mut self, e: &Event) {
        let (method, original) = method_of(&e.str(0));
        let parent = self.current(e.goid);
        let mut span = self.new_span(parent, method.clone(), SpanKind::Client, "weft/net/http", e.ktime_ns);
        if let Some(ids) = &e.ids {
            propagate::adopt(&mut span, ids, false);
        }
        span.set_str("http.request.method", method.clone());
        if !original.is_empty() {
            span.set_str("http.request.method_original", original);
        }
        let (scheme, url_host, path, query, req_host) = (e.str(1), e.str(2), e.str(3), e.str(4), e.str(5));
        let mut full = format!("{scheme}://");
        if e.num[0] != 0 {
            full.push_str("REDACTED:REDACTED@");
        }
        full.push_str(&url_host);
        full.push_str(&path);
        if !query.is_empty() {
            full.push('?');
            full.push_str(&semconv::redact_query(&query));
        }
        span.set_str("url.full", full);
        // The host dialled (semconv): a Host header set apart from the URL
        // (a ReverseProxy keeps its caller's) only when the URL has none.
        let host = if url_host.is_empty() { req_host } else { url_host };
        let (h, p) = host_port(&host, &scheme);
        span.set_str("server.address", self.texts.get(h));
        span.set_int("server.port", p);
        self.push(e.goid, OpenKind::Client, span, method);
    }

    fn sql_start(&mut self, e: &Event) {
        let info = self.dbs.get(&e.num[0]).cloned().unwrap_or_else(|| DbInfo { system: self.default_db_system.clone(), ..Default::default() });
        let (op, target, text) = semconv::sql_info(&e.raw_str());
        let name = match (op.is_empty(), target.is_empty()) {
            (false, false) => format!("{op} {target}"),
            (false, true) => op.clone(),
            _ => info.system.clone(),
        };
        let parent = self.current(e.goid);
        let mut span = self.new_span(parent, name.into(), SpanKind::Client, "weft/database/sql", e.ktime_ns);
        span.set_str("db.system.name", info.system.clone());
        if !op.is_empty() {
            span.set_str("db.operation.name", op);
        }
        if !target.is_empty() {
            span.set_str("db.collection.name", target);
        }
        if !text.is_empty() {
            span.set_str("db.query.text", text);
        }
        if !info.namespace.is_empty() {
            span.set_str("db.namespace", info.namespace.clone());
        }
        if !info.host.is_empty() {
            span.set_str("server.address", info.host.clone());
            if info.port > 0 {
                span.set_int("server.port", info.port.into());
            }
        }
        self.push(e.goid, OpenKind::Sql, span, Cow::Borrowed(""));
    }

    fn server_end(&mut self, o: &mut Open, e: &Event) {
        let pattern = e.str(0);
        let route = route_of(&pattern);
        if !route.is_empty() {
            self.buf.clear();
            let _ = write!(self.buf, "{} {route}", o.method);
            o.span.name = self.texts.get(&self.buf);
            o.span.set_str("http.route", self.texts.get(route));
        }
        let (status, wrote) = (e.num[0] as i64, e.num[1] != 0);
        let status = if wrote { status } else { 200 };
        if status > 0 {
            o.span.set_int("http.response.status_code", status);
            if status >= 500 {
                o.span.set_error(&status.to_string(), "");
            }
        }
    }
}

/// The semconv method and, for unknown methods, the original.
fn method_of(m: &str) -> (Cow<'static, str>, String) {
    const KNOWN: [&str; 10] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"];
    match KNOWN.iter().find(|k| **k == m) {
        Some(k) => (Cow::Borrowed(*k), String::new()),
        None if m.is_empty() => (Cow::Borrowed("GET"), String::new()),
        None => (Cow::Borrowed("_OTHER"), m.to_string()),
    }
}

fn proto_version(major: u64, minor: u64) -> Cow<'static, str> {
    match (major, minor) {
        (1, 1) => "1.1".into(),
        (1, 0) => "1.0".into(),
        (2, _) => "2".into(),
        (3, _) => "3".into(),
        _ => format!("{major}.{minor}").into(),
    }
}

fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    if let Some(rest) = hp.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h, p));
    }
    let (h, p) = hp.rsplit_once(':')?;
    (!h.contains(':')).then_some((h, p))
}

/// host[:port], the port defaulting from the scheme (as the woven weftHostPort).
fn host_port<'a>(hostport: &'a str, scheme: &str) -> (&'a str, i64) {
    match split_host_port(hostport) {
        Some((h, p)) => (h, p.parse().unwrap_or(0)),
        None => (
            hostport.trim_start_matches('[').trim_end_matches(']'),
            if scheme == "https" { 443 } else { 80 },
        ),
    }
}

/// The path part of a ServeMux pattern ("GET example.com/items/{id}" -> "/items/{id}").
fn route_of(pattern: &str) -> &str {
    let mut p = pattern;
    if let Some(i) = p.find([' ', '\t']) {
        p = p[i..].trim_start_matches([' ', '\t']);
    }
    if let Some(i) = p.find('/') {
        if i > 0 {
            p = &p[i..];
        }
    }
    p
}

#[cfg(test)]
mod tests;
