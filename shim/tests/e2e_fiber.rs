//! Fiber v2 and v3 end to end: tests/go/fiber (v2) and tests/go/fiber3 (v3)
//! serve a Fiber app (fasthttp, so no net/http span), a net/http downstream
//! it calls, and the same app served through net/http as adaptor.FiberApp
//! does. Each is built with the newest release (go.mod) and the oldest the
//! rule covers (oldest.mod: v2.11.0, v3.0.0). Each
//! request is one server span named after the route that matched (groups
//! and mounted apps included, none on 404/405), with the HTTP server
//! attributes; the handler's outgoing call is its child; an incoming
//! traceparent is continued; through net/http, net/http's span alone takes
//! the route.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord, StatusCode};

fn call(method: &str, url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    if method == "BREW" {
        return raw(method, url);
    }
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = agent.run(req.body(()).unwrap()).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    (resp.status().as_u16(), resp.body_mut().read_to_string().unwrap_or_default())
}

/// A request with a method ureq refuses to send.
fn raw(method: &str, url: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut c = std::net::TcpStream::connect(host).unwrap();
    write!(c, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    c.read_to_string(&mut resp).unwrap();
    let status = resp.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

const PARENT: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// What differs between the majors: the fixture, the scope, and the answers
/// to an unknown path and an invalid method.
struct Major {
    dir: &'static str,
    scope: &'static str,
    not_found: &'static str,
    invalid: (u16, &'static str),
}

const V2: Major = Major {
    dir: "tests/go/fiber",
    scope: "weft/github.com/gofiber/fiber/v2",
    not_found: "Cannot GET /nope",
    invalid: (400, "Invalid http method"),
};

const V3: Major = Major {
    dir: "tests/go/fiber3",
    scope: "weft/github.com/gofiber/fiber/v3",
    not_found: "Not Found",
    invalid: (501, "Not Implemented"),
};

fn fiber_spans(major: Major, modfile: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("fiber");
    build_clean(&mut weft_build(&repo().join(major.dir), &bin, modfile));

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let [addr, down, adapted] = [0; 3].map(|_| format!("127.0.0.1:{}", free_port()));
    let mut cmd = Command::new(&bin);
    cmd.args([&addr, &down, &adapted]);
    export_to(&mut cmd, "fiber", &rx.endpoint());
    let mut proc = Proc::spawn("fiber", &mut cmd, tmp.path());
    proc.wait_port(&addr);
    proc.wait_port(&adapted);
    let tp = format!("00-{PARENT}-00f067aa0ba902b7-01");
    let calls: [(&str, String, &[(&str, &str)], u16, &str); 9] = [
        ("GET", format!("http://{addr}/users/7"), &[("User-Agent", "weft-test")], 200, "user 7"),
        ("GET", format!("http://{addr}/api/items/3"), &[("traceparent", &tp)], 200, "item 3"),
        ("GET", format!("http://{addr}/sub/hello"), &[], 200, "hello"),
        ("GET", format!("http://{addr}/boom"), &[], 500, "boom"),
        ("GET", format!("http://{addr}/nope"), &[], 404, major.not_found),
        ("PUT", format!("http://{addr}/boom"), &[], 405, "Method Not Allowed"),
        ("POST", format!("http://{addr}/form?x=1"), &[("X-Forwarded-For", "203.0.113.9, 10.0.0.1")], 201, "made"),
        ("BREW", format!("http://{addr}/users/7"), &[], major.invalid.0, major.invalid.1),
        ("GET", format!("http://{adapted}/adapted/users/5"), &[], 200, "user 5"),
    ];
    for (method, url, headers, status, body) in &calls {
        assert_eq!(call(method, url, headers), (*status, body.to_string()), "{method} {url}\n{}", proc.output());
    }
    let servers = |s: &[SpanRecord]| s.iter().filter(|x| x.kind == SpanKind::Server).count();
    // One per call, and the downstream's two.
    let spans = rx.wait_for(|s| servers(s) >= calls.len() + 2, Duration::from_secs(20));
    let dump = weft::receiver::render_traces(&spans, false);
    let fiber: Vec<&SpanRecord> = spans.iter().filter(|s| s.scope_name == major.scope).collect();
    let names: Vec<&str> = fiber.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["GET /users/:id", "GET /api/items/:id", "GET /sub/hello", "GET /boom", "GET", "PUT", "POST /form", "_OTHER"],
        "{dump}"
    );
    for (s, (_, _, _, status, _)) in fiber.iter().zip(&calls) {
        assert_eq!(s.kind, SpanKind::Server, "{dump}");
        assert_eq!(s.attr_int("http.response.status_code"), Some(*status as i64), "{}", s.name);
        assert_eq!(s.status_code == StatusCode::Error, *status >= 500, "{}", s.name);
        assert_eq!(s.attr_str("server.address"), Some("127.0.0.1"), "{}", s.name);
        assert_eq!(s.attr_int("server.port"), addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok()), "{}", s.name);
        assert_eq!(s.attr_str("url.scheme"), Some("http"), "{}", s.name);
        assert_eq!(s.attr_str("network.protocol.version"), Some("1.1"), "{}", s.name);
        assert_eq!(s.attr_str("network.peer.address"), Some("127.0.0.1"), "{}", s.name);
        assert!(s.attr_int("network.peer.port").is_some_and(|p| p > 0), "{}", s.name);
    }
    let users = fiber[0];
    assert_eq!(users.attr_str("http.route"), Some("/users/:id"));
    assert_eq!(users.attr_str("url.path"), Some("/users/7"));
    assert_eq!(users.attr_str("user_agent.original"), Some("weft-test"));
    assert_eq!(users.parent_span_id, "", "a new trace: {dump}");
    // The handler's call to the downstream, and the downstream's span.
    let client = spans.iter().find(|s| s.parent_span_id == users.span_id).unwrap_or_else(|| panic!("no child of {}:\n{dump}", users.name));
    assert_eq!((client.kind, client.trace_id.as_str()), (SpanKind::Client, users.trace_id.as_str()), "{dump}");
    assert!(spans.iter().any(|s| s.parent_span_id == client.span_id && s.name == "GET /down"), "{dump}");

    let items = fiber[1];
    assert_eq!((items.trace_id.as_str(), items.parent_span_id.as_str()), (PARENT, "00f067aa0ba902b7"), "continued: {dump}");
    assert_eq!(fiber[2].attr_str("http.route"), Some("/sub/hello"));
    assert_eq!(fiber[3].attr_str("error.type"), Some("500"));
    for s in [fiber[4], fiber[5], fiber[7]] {
        assert!(s.attr("http.route").is_none(), "{}: {dump}", s.name);
    }
    assert_eq!(fiber[7].attr_str("http.request.method_original"), Some("BREW"));
    let form = fiber[6];
    assert_eq!(form.attr_str("url.query"), Some("x=REDACTED"));
    assert_eq!(form.attr_str("client.address"), Some("203.0.113.9"));

    // Through net/http: its span only, named after Fiber's route.
    let adapted_port: i64 = adapted.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).unwrap();
    let via: Vec<&SpanRecord> = spans.iter().filter(|s| s.kind == SpanKind::Server && s.attr_int("server.port") == Some(adapted_port)).collect();
    assert_eq!(via.len(), 1, "{dump}");
    assert_eq!((via[0].name.as_str(), via[0].scope_name.as_str()), ("GET /users/:id", "weft/net/http"), "{dump}");
    assert!(spans.iter().any(|s| s.parent_span_id == via[0].span_id && s.kind == SpanKind::Client), "{dump}");
}

/// Fiber v2.52.15.
#[test]
fn fiber_v2_newest_version() {
    fiber_spans(V2, None);
}

/// Fiber v2.11.0, the first that imports context.
#[test]
fn fiber_v2_oldest_version() {
    fiber_spans(V2, Some("oldest.mod"));
}

/// Fiber v3.1.0.
#[test]
fn fiber_v3_newest_version() {
    fiber_spans(V3, None);
}

/// Fiber v3.0.0.
#[test]
fn fiber_v3_oldest_version() {
    fiber_spans(V3, Some("oldest.mod"));
}
