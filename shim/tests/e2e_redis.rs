//! Redis clients end to end: tests/go/redis is a net/http server whose
//! handlers call a real Redis (tests/services/redis.sh) through redigo,
//! go-redis v8 and go-redis v9. Built twice: with the newest releases the
//! rules cover (go.mod) and with the oldest (oldest.mod). Each request's
//! Redis spans must be children of its server span (redigo has no ctx:
//! the goroutine's context links them), with semconv names and attributes.

mod support;

use std::path::Path;
use std::process::Command;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord, StatusCode};

const PATHS: &[&str] = &[
    "/redigo/do",
    "/redigo/pipeline",
    "/redigo/multi",
    "/redigo/doall",
    "/redigo/error",
    "/redigo/nil",
    "/redigo/db",
    "/redigo/goroutine",
    "/redigo/context",
    "/redigo/pubsub",
    "/v8/cmd",
    "/v8/pipeline",
    "/v8/tx",
    "/v8/error",
    "/v8/nil",
    "/v8/ctxless",
    "/v8/conn",
    "/v9/cmd",
    "/v9/pipeline",
    "/v9/tx",
    "/v9/error",
    "/v9/nil",
    "/v9/ctxless",
    "/v9/conn",
    "/v9/db",
];

fn redis_addr() -> String {
    std::env::var("WEFT_TEST_REDIS_ADDR").unwrap_or_else(|_| {
        panic!("WEFT_TEST_REDIS_ADDR is not set: start Redis with `eval \"$(tests/services/redis.sh start && tests/services/redis.sh env)\"` or run tests/run.sh")
    })
}

/// Builds the fixture with `go.mod` or another mod file beside it.
fn build(modfile: Option<&str>, out: &Path) -> String {
    let built = run_ok(&mut weft_build(&repo().join("tests/go/redis"), out, modfile));
    String::from_utf8_lossy(&built.stderr).into_owned()
}

/// Runs every path once; returns all spans.
fn run(bin: &Path, prefix: &str) -> Vec<SpanRecord> {
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let out = run_ok(
        Command::new(bin)
            .args(PATHS)
            .env("WEFT_TEST_REDIS_ADDR", redis_addr())
            .env("WEFT_TEST_KEY_PREFIX", prefix)
            .env("OTEL_SERVICE_NAME", "redisfix")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n", "{}", String::from_utf8_lossy(&out.stderr));
    // The program flushed at exit: every span is in.
    rx.spans()
}

struct Spans<'a> {
    all: &'a [SpanRecord],
    dump: String,
}

impl<'a> Spans<'a> {
    /// The Redis spans under the server span of `path`, in start order.
    fn under(&self, path: &str) -> Vec<&'a SpanRecord> {
        let name = format!("GET {path}");
        let servers: Vec<_> = self.all.iter().filter(|s| s.kind == SpanKind::Server && s.name == name).collect();
        assert_eq!(servers.len(), 1, "one server span {name}:\n{}", self.dump);
        let srv = servers[0];
        let mut kids: Vec<_> = self
            .all
            .iter()
            .filter(|s| s.parent_span_id == srv.span_id && s.attr_str("db.system.name").is_some())
            .collect();
        kids.sort_by_key(|s| s.start_unix_nano);
        for k in &kids {
            assert_eq!(k.trace_id, srv.trace_id);
            assert!(k.start_unix_nano >= srv.start_unix_nano && k.end_unix_nano <= srv.end_unix_nano, "{} outside {name}", k.name);
        }
        kids
    }

    fn names(&self, path: &str) -> Vec<String> {
        self.under(path).iter().map(|s| s.name.clone()).collect()
    }
}

/// A Redis client span's common attributes.
fn check_span(s: &SpanRecord, scope: &str, op: &str, text: Option<&str>, addr: &str) {
    let what = format!("{} ({})", s.name, s.scope_name);
    assert_eq!(s.kind, SpanKind::Client, "{what}");
    assert_eq!(s.scope_name, scope, "{what}");
    assert_eq!(s.name, op, "{what}");
    assert_eq!(s.attr_str("db.system.name"), Some("redis"), "{what}");
    assert_eq!(s.attr_str("db.operation.name"), Some(op), "{what}");
    assert_eq!(s.attr_str("db.query.text"), text, "{what}");
    let (host, port) = addr.rsplit_once(':').unwrap();
    assert_eq!(s.attr_str("server.address"), Some(host), "{what}");
    assert_eq!(s.attr_int("server.port"), Some(port.parse().unwrap()), "{what}");
    assert!(s.duration_nanos() >= 0, "{what}: negative duration");
}

fn check_ok(s: &SpanRecord) {
    assert_eq!(s.status_code, StatusCode::Unset, "{}: {}", s.name, s.status_message);
    assert!(s.attr("error.type").is_none(), "{}", s.name);
}

fn check_err(s: &SpanRecord, code: &str) {
    assert_eq!(s.status_code, StatusCode::Error, "{}", s.name);
    assert_eq!(s.attr_str("error.type"), Some(code), "{}", s.name);
    assert_eq!(s.attr_str("db.response.status_code"), Some(code), "{}", s.name);
    assert!(s.status_message.starts_with(code), "{}: {}", s.name, s.status_message);
}

fn check_redigo(sp: &Spans, p: &str, addr: &str, has_do_context: bool) {
    let scope = "weft/github.com/gomodule/redigo";
    let k = |k: &str| format!("{p}:{k}");

    // Pooled Do: one span per command (activeConn and conn make one, not two).
    let s = sp.under("/redigo/do");
    assert_eq!(s.len(), 2, "{}", sp.dump);
    check_span(s[0], scope, "SET", Some(&format!("SET {} ?", k("k"))), addr);
    check_span(s[1], scope, "GET", Some(&format!("GET {}", k("k"))), addr);
    for x in &s {
        check_ok(x);
        assert_eq!(x.attr_str("db.namespace"), Some("0"));
        assert!(x.attr("db.operation.batch.size").is_none());
    }

    // Send, Send, Send, Flush, Receive×3: one batch span.
    let s = sp.under("/redigo/pipeline");
    assert_eq!(s.len(), 1, "{}", sp.dump);
    let text = format!("SET {} ?; INCR {}; GET {}", k("n"), k("n"), k("n"));
    check_span(s[0], scope, "PIPELINE", Some(&text), addr);
    assert_eq!(s[0].attr_int("db.operation.batch.size"), Some(3));
    check_ok(s[0]);

    // MULTI, INCR, INCR sent, then Do("EXEC"): a transaction of two INCRs.
    let s = sp.under("/redigo/multi");
    assert_eq!(s.len(), 1, "{}", sp.dump);
    check_span(s[0], scope, "MULTI INCR", Some(&format!("INCR {}; INCR {}", k("x"), k("y"))), addr);
    assert_eq!(s[0].attr_int("db.operation.batch.size"), Some(2));

    // Send, Send, Do(""): flushes and reads both.
    let s = sp.under("/redigo/doall");
    assert_eq!(s.len(), 1, "{}", sp.dump);
    check_span(s[0], scope, "PIPELINE GET", Some(&format!("GET {}; GET {}", k("k"), k("missing"))), addr);
    assert_eq!(s[0].attr_int("db.operation.batch.size"), Some(2));
    check_ok(s[0]);

    // Error replies: on Do, and on the second reply of a pipeline.
    let s = sp.under("/redigo/error");
    assert_eq!(sp.names("/redigo/error"), ["SET", "INCR", "PIPELINE"], "{}", sp.dump);
    check_ok(s[0]);
    check_span(s[1], scope, "INCR", Some(&format!("INCR {}", k("s"))), addr);
    check_err(s[1], "ERR");
    check_span(s[2], scope, "PIPELINE", Some(&format!("GET {}; LPUSH {} ?", k("s"), k("s"))), addr);
    check_err(s[2], "WRONGTYPE");

    // A missing key (redis.String gives ErrNil) is not an error.
    let s = sp.under("/redigo/nil");
    assert_eq!(s.len(), 1, "{}", sp.dump);
    check_span(s[0], scope, "GET", Some(&format!("GET {}", k("missing"))), addr);
    check_ok(s[0]);

    // Dialed with DialDatabase(3), then SELECT 4: db.namespace follows.
    let s = sp.under("/redigo/db");
    assert_eq!(sp.names("/redigo/db"), ["SELECT", "SET", "SELECT", "GET"], "{}", sp.dump);
    check_span(s[0], scope, "SELECT", Some("SELECT ?"), addr);
    assert_eq!(s[1].attr_str("db.namespace"), Some("3"));
    assert_eq!(s[2].attr_str("db.namespace"), Some("3"));
    assert_eq!(s[3].attr_str("db.namespace"), Some("4"));

    // A goroutine started by the handler inherits its context.
    let s = sp.under("/redigo/goroutine");
    assert_eq!(s.len(), 1, "{}", sp.dump);
    check_span(s[0], scope, "PING", Some("PING"), addr);

    // Pub/sub: SUBSCRIBE and UNSUBSCRIBE are sent here and their replies
    // read by another goroutine; each span ends with its reply.
    let s = sp.under("/redigo/pubsub");
    assert_eq!(sp.names("/redigo/pubsub"), ["SUBSCRIBE", "PUBLISH", "UNSUBSCRIBE"], "{}", sp.dump);
    check_span(s[0], scope, "SUBSCRIBE", Some(&format!("SUBSCRIBE {}", k("ch"))), addr);
    check_span(s[1], scope, "PUBLISH", Some(&format!("PUBLISH {} ?", k("ch"))), addr);
    check_span(s[2], scope, "UNSUBSCRIBE", Some("UNSUBSCRIBE"), addr);
    assert!(s[0].end_unix_nano <= s[1].start_unix_nano, "SUBSCRIBE ends with its reply, before PUBLISH");

    // DoContext from a worker with no context of its own: ctx links it.
    let s = sp.under("/redigo/context");
    if has_do_context {
        assert_eq!(s.len(), 1, "{}", sp.dump);
        check_span(s[0], scope, "ECHO", Some("ECHO ?"), addr);
    } else {
        assert!(s.is_empty());
    }
}

/// `conn_hooks`: go-redis v8 before 8.3.4 gives a Conn no hooks at all.
fn check_goredis(sp: &Spans, v: &str, p: &str, addr: &str, conn_hooks: bool) {
    let scope = match v {
        "v8" => "weft/github.com/go-redis/redis/v8",
        _ => "weft/github.com/redis/go-redis/v9",
    };
    let k = |k: &str| format!("{p}:{k}");
    let path = |x: &str| format!("/{v}/{x}");

    let s = sp.under(&path("cmd"));
    assert_eq!(s.len(), 2, "{}", sp.dump);
    check_span(s[0], scope, "SET", Some(&format!("SET {} ?", k("k"))), addr);
    check_span(s[1], scope, "GET", Some(&format!("GET {}", k("k"))), addr);
    for x in &s {
        check_ok(x);
        assert_eq!(x.attr_str("db.namespace"), Some("0"));
    }

    let s = sp.under(&path("pipeline"));
    assert_eq!(s.len(), 1, "{}", sp.dump);
    let text = format!("SET {} ?; INCR {}; GET {}", k("n"), k("n"), k("n"));
    check_span(s[0], scope, "PIPELINE", Some(&text), addr);
    assert_eq!(s[0].attr_int("db.operation.batch.size"), Some(3));
    check_ok(s[0]);

    let s = sp.under(&path("tx"));
    assert_eq!(s.len(), 1, "{}", sp.dump);
    check_span(s[0], scope, "MULTI INCR", Some(&format!("INCR {}; INCR {}", k("x"), k("y"))), addr);
    assert_eq!(s[0].attr_int("db.operation.batch.size"), Some(2));
    check_ok(s[0]);

    let s = sp.under(&path("error"));
    assert_eq!(sp.names(&path("error")), ["SET", "INCR"], "{}", sp.dump);
    check_err(s[1], "ERR");

    // redis.Nil is not an error.
    let s = sp.under(&path("nil"));
    assert_eq!(s.len(), 1, "{}", sp.dump);
    check_ok(s[0]);

    // context.Background(): the goroutine's context is the parent.
    let s = sp.under(&path("ctxless"));
    assert_eq!(s.len(), 1, "{}", sp.dump);
    check_span(s[0], scope, "PING", Some("PING"), addr);

    // A Conn: one span per command, even when it inherits the Client's hook.
    let s = sp.under(&path("conn"));
    if conn_hooks {
        assert_eq!(s.len(), 1, "{}", sp.dump);
        check_span(s[0], scope, "PING", Some("PING"), addr);
    } else {
        assert!(s.is_empty(), "{}", sp.dump);
    }

    if v == "v9" {
        let s = sp.under("/v9/db");
        assert_eq!(s.len(), 1, "{}", sp.dump);
        assert_eq!(s[0].attr_str("db.namespace"), Some("3"));
    }
}

/// `newest`: redigo has DoContext (the oldest's rule redigo.context is out
/// of range, silently), go-redis v8's Conn has hooks.
fn check(modfile: Option<&str>, prefix: &str, newest: bool) {
    let addr = redis_addr();
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("redisfix");
    let warnings = build(modfile, &bin);
    assert!(
        !warnings.lines().any(|l| l.contains("redigo") || l.contains("goredis")),
        "a Redis rule was skipped:\n{warnings}"
    );
    let spans = run(&bin, prefix);
    let sp = Spans { all: &spans, dump: weft::receiver::render_traces(&spans, false) };
    check_redigo(&sp, prefix, &addr, newest);
    check_goredis(&sp, "v8", prefix, &addr, newest);
    check_goredis(&sp, "v9", prefix, &addr, true);
    for s in &spans {
        assert!(s.duration_nanos() >= 0, "negative duration on {}", s.name);
        // No handshake spans (HELLO, CLIENT SETINFO …) and no errors beyond the expected.
        assert!(s.name != "HELLO" && !s.name.starts_with("CLIENT"), "handshake span:\n{}", sp.dump);
    }
}

#[test]
fn redis_newest() {
    check(None, "weft-new", true);
}

#[test]
fn redis_oldest() {
    check(Some("oldest.mod"), "weft-old", false);
}
