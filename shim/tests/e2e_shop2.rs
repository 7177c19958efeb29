//! End to end: examples/shop2. Service A (gin) handles GET /call-b by
//! querying MariaDB with the request's ctx, calling Redis through redigo
//! without a ctx, and calling service B with http.Get (no ctx); B (echo v4)
//! queries MariaDB and Redis (go-redis, with the request's ctx). One
//! request must make ONE trace, connected end to end. The same binaries
//! then run on plain net/http (`-plain`) and must give the same trace.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord, StatusCode};

fn redis_addr() -> String {
    std::env::var("WEFT_TEST_REDIS_ADDR").unwrap_or_else(|_| {
        panic!("WEFT_TEST_REDIS_ADDR is not set: start Redis with `eval \"$(tests/services/redis.sh start && tests/services/redis.sh env)\"` or run tests/run.sh")
    })
}

struct Shop2 {
    a: Proc,
    b: Proc,
    a_addr: String,
}

fn start(bins: &Path, rx: &Receiver, logs: &Path, plain: bool) -> Shop2 {
    let (a_addr, b_addr) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let cmd = |name: &str| {
        let mut c = Command::new(bins.join(name));
        if plain {
            c.arg("-plain");
        }
        c.env("MYSQL_DSN", mysql_dsn())
            .env("REDIS_ADDR", redis_addr())
            .env("OTEL_SERVICE_NAME", name)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint())
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("GORACE", "halt_on_error=1 exitcode=66");
        c
    };
    rx.clear();
    let suffix = if plain { "-plain" } else { "" };
    let mut b = Proc::spawn(&format!("b{suffix}"), cmd("b").env("B_ADDR", &b_addr), logs);
    b.wait_port(&b_addr);
    let mut a = Proc::spawn(&format!("a{suffix}"), cmd("a").env("A_ADDR", &a_addr).env("B_URL", format!("http://{b_addr}")), logs);
    a.wait_port(&a_addr);
    // The schema statements each service runs at startup are spans of their
    // own: let them arrive before any request, so they are not counted.
    let seeded = |s: &[SpanRecord], svc: &str| s.iter().any(|x| x.service_name == svc && x.attr_str("db.operation.name") == Some("INSERT"));
    rx.wait_for(|s| seeded(s, "a") && seeded(s, "b"), Duration::from_secs(20));
    Shop2 { a, b, a_addr }
}

fn one<'a>(spans: &'a [SpanRecord], what: &str, f: impl Fn(&SpanRecord) -> bool) -> &'a SpanRecord {
    let found: Vec<_> = spans.iter().filter(|s| f(s)).collect();
    assert_eq!(found.len(), 1, "expected one {what}, got {}:\n{}", found.len(), weft::receiver::render_traces(spans, false));
    found[0]
}

/// GET /call-b, then every span that arrives (all of them, not one trace's).
fn call_and_collect(shop: &Shop2, rx: &Receiver) -> Vec<SpanRecord> {
    rx.clear();
    let (status, body) = get(&format!("http://{}/call-b", shop.a_addr), &[]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"customer\":\"Ada\"") && body.contains("\"name\":\"lamp\""), "{body}");
    let server = |s: &SpanRecord, svc: &str| s.service_name == svc && s.kind == SpanKind::Server;
    rx.wait_for(
        |s| s.iter().any(|x| server(x, "a")) && s.iter().any(|x| server(x, "b")),
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_millis(400)); // anything late would show up as an extra span
    rx.spans()
}

fn assert_one_trace(spans: &[SpanRecord], plain: bool) {
    let tree = || weft::receiver::render_traces(spans, false);
    let a = one(spans, "A's server span", |s| s.service_name == "a" && s.kind == SpanKind::Server);
    assert_eq!(a.name, "GET /call-b");
    assert_eq!(a.attr_str("http.route"), Some("/call-b"));
    assert_eq!(a.attr_int("http.response.status_code"), Some(200));
    assert!(a.parent_span_id.is_empty(), "A's server span is the root");

    let db = |svc: &'static str, system: &'static str| {
        move |s: &SpanRecord| s.service_name == svc && s.attr_str("db.system.name") == Some(system)
    };
    let a_sql = one(spans, "A's SQL span", db("a", "mysql"));
    assert_eq!(a_sql.name, "SELECT shop2_customers");
    assert_eq!(a_sql.parent_span_id, a.span_id, "A's query (request ctx) is a child of A's server span:\n{}", tree());
    let a_redis = one(spans, "A's Redis span", db("a", "redis"));
    assert_eq!(a_redis.attr_str("db.operation.name"), Some("INCR"));
    assert_eq!(a_redis.kind, SpanKind::Client);
    assert_eq!(a_redis.parent_span_id, a.span_id, "redigo without ctx joins A's server span:\n{}", tree());
    let a_http = one(spans, "A's HTTP client span", |s| s.service_name == "a" && s.kind == SpanKind::Client && s.attr("http.request.method").is_some());
    assert_eq!(a_http.parent_span_id, a.span_id, "http.Get without ctx joins A's server span:\n{}", tree());
    assert!(a_http.attr_str("url.full").unwrap().ends_with("/items/1"));

    let b = one(spans, "B's server span", |s| s.service_name == "b" && s.kind == SpanKind::Server);
    let route = if plain { "/items/{id}" } else { "/items/:id" };
    assert_eq!(b.name, format!("GET {route}"));
    assert_eq!(b.attr_str("http.route"), Some(route));
    assert_eq!(b.parent_span_id, a_http.span_id, "B continues A's trace under the client span:\n{}", tree());
    let b_sql = one(spans, "B's SQL span", db("b", "mysql"));
    assert_eq!(b_sql.name, "SELECT shop2_items");
    assert_eq!(b_sql.parent_span_id, b.span_id);
    let b_redis: Vec<_> = spans.iter().filter(|s| db("b", "redis")(s)).collect();
    assert!(b_redis.iter().any(|s| s.attr_str("db.operation.name") == Some("INCR")), "B's Redis INCR:\n{}", tree());
    for s in &b_redis {
        assert_eq!(s.parent_span_id, b.span_id, "B's Redis span {} is a child of B's server span:\n{}", s.name, tree());
    }

    for s in spans {
        assert_eq!(s.trace_id, a.trace_id, "one request, one trace:\n{}", tree());
        assert!(s.duration_nanos() >= 0, "negative duration on {}", s.name);
        assert_eq!(s.status_code, StatusCode::Unset, "{} failed: {}", s.name, s.status_message);
        if !s.parent_span_id.is_empty() {
            let p = spans.iter().find(|p| p.span_id == s.parent_span_id);
            let p = p.unwrap_or_else(|| panic!("{}'s parent is missing:\n{}", s.name, tree()));
            assert!(s.start_unix_nano >= p.start_unix_nano, "{} starts before its parent {}", s.name, p.name);
        }
    }
}

#[test]
fn shop2_one_trace_on_gin_echo_and_on_plain_net_http() {
    let tmp = tempfile::tempdir().unwrap();
    let examples = repo().join("examples");
    for name in ["a", "b"] {
        let out = tmp.path().join(name);
        run_ok(&mut weft_go(&examples, &["build", "-o", out.to_str().unwrap(), &format!("./shop2/{name}")]));
    }
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    for plain in [false, true] {
        let mut shop = start(tmp.path(), &rx, tmp.path(), plain);
        let spans = call_and_collect(&shop, &rx);
        assert_one_trace(&spans, plain);
        // A's log line for the request carries the request's trace and span ids.
        let a = spans.iter().find(|s| s.service_name == "a" && s.kind == SpanKind::Server).unwrap();
        let (tid, sid) = (format!("trace_id={}", a.trace_id), format!("span_id={}", a.span_id));
        let log = shop.a.output();
        assert!(
            log.lines().any(|l| l.contains("called b") && l.contains(&tid) && l.contains(&sid)),
            "no `called b` line with {tid} {sid}:\n{log}"
        );
        // A second request is a second trace, not a continuation of the first.
        let first = rx.spans()[0].trace_id.clone();
        let again = call_and_collect(&shop, &rx);
        assert_one_trace(&again, plain);
        assert_ne!(again[0].trace_id, first);
        assert!(shop.a.stop(SIGTERM).success(), "{}", shop.a.output());
        assert!(shop.b.stop(SIGTERM).success(), "{}", shop.b.output());
    }
}

/// The same services built with -race: woven code, the woven runtime and
/// the libraries' hooks under the race detector (a race exits with 66).
#[test]
fn shop2_under_the_race_detector() {
    let tmp = tempfile::tempdir().unwrap();
    let examples = repo().join("examples");
    for name in ["a", "b"] {
        let out = tmp.path().join(name);
        run_ok(&mut weft_go(&examples, &["build", "-race", "-o", out.to_str().unwrap(), &format!("./shop2/{name}")]));
    }
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let mut shop = start(tmp.path(), &rx, tmp.path(), false);
    for _ in 0..3 {
        assert_one_trace(&call_and_collect(&shop, &rx), false);
    }
    let (a, b) = (shop.a.stop(SIGTERM), shop.b.stop(SIGTERM));
    assert!(a.success() && b.success(), "a: {a}, b: {b}\n{}\n{}", shop.a.output(), shop.b.output());
    assert!(!shop.a.output().contains("DATA RACE") && !shop.b.output().contains("DATA RACE"));
}
