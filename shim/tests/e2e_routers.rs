//! End to end: gin, echo v3, v4 and v5, gorilla/mux, chi v5, nested
//! ServeMuxes (behind a WithContext middleware, and behind StripPrefix) and
//! httprouter (its routes added while a package initializes) serving the
//! same routes (tests/go/routers), at the oldest (oldest.mod)
//! and the newest (go.mod) version of each rule's range, built with `weft go
//! build`. The net/http server span is named after the router's route
//! template, the innermost ServeMux's pattern with the stripped prefix.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord, StatusCode};

/// Router name (as the fixture's bodies say it) and how it writes a parameter.
const ROUTERS: [(&str, &str); 8] = [
    ("gin", ":id"),
    ("echo3", ":id"),
    ("echo4", ":id"),
    ("echo5", ":id"),
    ("mux", "{id}"),
    ("chi", "{id}"),
    ("servemux", "{id}"),
    ("httprouter", ":id"),
];

fn one<'a>(spans: &'a [SpanRecord], what: &str, f: impl Fn(&SpanRecord) -> bool) -> &'a SpanRecord {
    let found: Vec<_> = spans.iter().filter(|s| f(s)).collect();
    assert_eq!(found.len(), 1, "expected one {what}, got {}:\n{}", found.len(), weft::receiver::render_traces(spans, false));
    found[0]
}

fn routes_name_server_spans(modfile: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("routers");
    run_ok(&mut weft_build(&repo().join("tests/go/routers"), &bin, modfile));

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let ports: Vec<u16> = (0..ROUTERS.len() + 1).map(|_| free_port()).collect();
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut cmd = Command::new(&bin);
    cmd.args(&addrs)
        .env("OTEL_SERVICE_NAME", "routers")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint())
        .env("OTEL_BSP_SCHEDULE_DELAY", "100");
    let mut proc = Proc::spawn("routers", &mut cmd, tmp.path());
    for a in &addrs {
        proc.wait_port(a);
    }

    for (i, (router, param)) in ROUTERS.iter().enumerate() {
        let (addr, port) = (&addrs[i + 1], ports[i + 1] as i64);
        rx.clear();
        let (status, body) = get(&format!("http://{addr}/users/42"), &[]);
        assert_eq!((status, body.as_str()), (200, format!("{router} user 42 pong").as_str()));
        let (status, body) = get(&format!("http://{addr}/api/items/7"), &[]);
        assert_eq!((status, body.as_str()), (200, format!("{router} item 7").as_str()));
        let (status, _) = get(&format!("http://{addr}/nope"), &[]);
        assert_eq!(status, 404, "{router}");
        // Under the group or mounted subrouter, but no route of it (echo5:
        // the group's own RouteNotFound route answers).
        let (status, _) = get(&format!("http://{addr}/api/nope"), &[]);
        assert_eq!(status, 404, "{router}");

        let mine = |s: &SpanRecord| s.kind == SpanKind::Server && s.attr_int("server.port") == Some(port);
        let spans = rx.wait_for(|s| s.iter().filter(|x| mine(x)).count() >= 4 && s.iter().any(|x| x.name == "GET /ping"), Duration::from_secs(20));
        let path = |p: &'static str| move |s: &SpanRecord| mine(s) && s.attr_str("url.path") == Some(p);

        let user = one(&spans, &format!("{router} /users/42 span"), path("/users/42"));
        let route = format!("/users/{param}");
        assert_eq!(user.name, format!("GET {route}"), "{router}");
        assert_eq!(user.attr_str("http.route"), Some(route.as_str()), "{router}");
        assert_eq!(user.attr_int("http.response.status_code"), Some(200));
        // The request's context still carries the server span under the router.
        let client = one(&spans, &format!("{router} client span"), |s| s.kind == SpanKind::Client);
        assert_eq!(client.parent_span_id, user.span_id, "{router}: the handler's call is a child of the server span");
        let ping = one(&spans, "GET /ping", |s| s.name == "GET /ping");
        assert_eq!(ping.parent_span_id, client.span_id);

        let item = one(&spans, &format!("{router} /api/items/7 span"), path("/api/items/7"));
        let route = format!("/api/items/{param}");
        assert_eq!(item.name, format!("GET {route}"), "{router}: a route of a group or subrouter");
        assert_eq!(item.attr_str("http.route"), Some(route.as_str()), "{router}");

        for p in ["/nope", "/api/nope"] {
            let nope = one(&spans, &format!("{router} {p} span"), |s: &SpanRecord| mine(s) && s.attr_str("url.path") == Some(p));
            assert_eq!(nope.name, "GET", "{router} {p}: no route matched");
            assert_eq!(nope.attr_str("http.route"), None, "{router} {p}");
            assert_eq!(nope.attr_int("http.response.status_code"), Some(404));
            assert_eq!(nope.status_code, StatusCode::Unset);
        }
    }
}

/// gin v1.7.0, echo v3.1.0, v4.0.0 and v5.0.0, gorilla/mux v1.6.0, chi v5.0.0,
/// httprouter v1.2.0.
#[test]
fn routers_oldest_versions() {
    routes_name_server_spans(Some("oldest.mod"));
}

/// gin v1.12.0, echo v3.3.10, v4.16.0 and v5.4.4, gorilla/mux v1.8.1, chi v5.5.0,
/// httprouter v1.3.0.
#[test]
fn routers_newest_versions() {
    routes_name_server_spans(None);
}
