//! gRPC end to end: a real grpc server and client (tests/go/grpc), built
//! with the oldest (on Go 1.22) and the newest grpc release the rules cover.
//! Unary, server-streaming and bidirectional calls; trace context carried in
//! the metadata; status codes; a ctx-less http.Get and log line inside a
//! handler join the server span.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord, StatusCode};

/// Builds the fixture with the go.mod/go.sum of `modfiles` (a folder).
fn build(modfiles: &Path, toolchain: Option<&str>, out: &Path) {
    let src = out.parent().unwrap().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(repo().join("tests/go/grpc/main.go"), src.join("main.go")).unwrap();
    for f in ["go.mod", "go.sum"] {
        std::fs::copy(modfiles.join(f), src.join(f)).unwrap();
    }
    let mut c = weft_go(&src, &["build", "-o", out.to_str().unwrap(), "."]);
    if let Some(go) = toolchain {
        c.env("GOTOOLCHAIN", go);
    }
    let built = run_ok(&mut c);
    let warnings = String::from_utf8_lossy(&built.stderr);
    assert!(!warnings.contains("grpc."), "a grpc rule was skipped:\n{warnings}");
}

fn one<'a>(spans: &'a [SpanRecord], dump: &str, what: &str, f: impl Fn(&SpanRecord) -> bool) -> &'a SpanRecord {
    let found: Vec<_> = spans.iter().filter(|s| f(s)).collect();
    assert_eq!(found.len(), 1, "expected one {what}, got {}:\n{dump}", found.len());
    found[0]
}

/// The client span of `name` and the server span under it.
fn pair<'a>(spans: &'a [SpanRecord], dump: &str, name: &str, nth: usize) -> (&'a SpanRecord, &'a SpanRecord) {
    let clients: Vec<_> = spans.iter().filter(|s| s.kind == SpanKind::Client && s.name == name).collect();
    let client = *clients.get(nth).unwrap_or_else(|| panic!("no client span #{nth} {name}:\n{dump}"));
    let server = one(spans, dump, &format!("server span of {name}"), |s| s.kind == SpanKind::Server && s.parent_span_id == client.span_id);
    assert_eq!(server.name, name);
    assert_eq!(server.trace_id, client.trace_id);
    (client, server)
}

fn check(label: &str, bin: &Path, tmp: &Path) {
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let (gport, hport) = (free_port(), free_port());
    let gaddr = format!("127.0.0.1:{gport}");
    let mut server = Proc::spawn(
        &format!("server-{label}"),
        Command::new(bin)
            .args(["server", &gaddr, &format!("127.0.0.1:{hport}")])
            .env("OTEL_SERVICE_NAME", "greeter")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint())
            .env("OTEL_BSP_SCHEDULE_DELAY", "100"),
        tmp,
    );
    server.wait_port(&gaddr);
    let out = run_ok(
        Command::new(bin).args(["client", &gaddr]).env("OTEL_SERVICE_NAME", "caller").env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "check \"\" SERVING\ncheck \"missing\" NotFound\ncheck \"boom\" Internal\nwatch 2\nchat 3\nexport Unimplemented\nupper Internal\n"
    );
    // The client flushed at exit; wait for the server's five spans.
    rx.wait_for(
        |s| s.iter().filter(|x| x.kind == SpanKind::Server && x.attr_str("rpc.system") == Some("grpc")).count() >= 5,
        Duration::from_secs(30),
    );
    std::thread::sleep(Duration::from_millis(300)); // anything late would show as an extra span
    let spans = rx.spans();
    let dump = weft::receiver::render_traces(&spans, false);
    let rpc: Vec<_> = spans.iter().filter(|s| s.attr_str("rpc.system") == Some("grpc")).collect();
    assert_eq!(rpc.len(), 11, "one client and one server span per call, none for the OTLP export, a client span for the rejected call:\n{dump}");
    let served = |c: &SpanRecord| rpc.iter().any(|s| s.parent_span_id == c.span_id);
    let upper = rpc.iter().filter(|s| s.kind == SpanKind::Client && s.attr_int("rpc.grpc.status_code") == Some(13) && !served(s)).count();
    assert_eq!(upper, 1, "the call with metadata grpc rejects fails as without weft (INTERNAL):\n{dump}");

    // Unary, OK: the server continues the client's trace from the metadata.
    let (client, srv) = pair(&spans, &dump, "grpc.health.v1.Health/Check", 0);
    assert_eq!(client.service_name, "caller");
    assert_eq!(srv.service_name, "greeter");
    assert!(client.parent_span_id.is_empty());
    assert_eq!(client.scope_name, "weft/google.golang.org/grpc");
    for s in [client, srv] {
        assert_eq!(s.attr_str("rpc.system"), Some("grpc"));
        assert_eq!(s.attr_str("rpc.service"), Some("grpc.health.v1.Health"));
        assert_eq!(s.attr_str("rpc.method"), Some("Check"));
        assert_eq!(s.attr_int("rpc.grpc.status_code"), Some(0));
        assert_eq!(s.status_code, StatusCode::Unset);
        assert!(s.duration_nanos() >= 0);
    }
    assert_eq!(client.attr_str("server.address"), Some("127.0.0.1"));
    assert_eq!(client.attr_int("server.port"), Some(gport as i64));
    assert_eq!(srv.attr_str("network.peer.address"), Some("127.0.0.1"));
    assert!(srv.attr_int("network.peer.port").is_some_and(|p| p > 0 && p != gport as i64), "{dump}");
    // The handler's ctx-less http.Get is a child of the server span, and the
    // log line it writes carries the server span's ids.
    let get = one(&spans, &dump, "http.Get in the handler", |s| s.kind == SpanKind::Client && s.attr("http.request.method").is_some());
    assert_eq!(get.parent_span_id, srv.span_id, "ctx-less http.Get under the gRPC handler:\n{dump}");
    assert_eq!(get.trace_id, srv.trace_id);
    let log = server.output();
    let want = format!("check \"\" trace_id={} span_id={}", srv.trace_id, srv.span_id);
    assert!(log.lines().any(|l| l == want), "log line {want:?} in:\n{log}");

    // NOT_FOUND is a client error only; INTERNAL is an error on both sides.
    let (client, srv) = pair(&spans, &dump, "grpc.health.v1.Health/Check", 1);
    assert_eq!(client.attr_int("rpc.grpc.status_code"), Some(5));
    assert_eq!(client.status_code, StatusCode::Error);
    assert_eq!(client.attr_str("error.type"), Some("NOT_FOUND"));
    assert_eq!(srv.attr_int("rpc.grpc.status_code"), Some(5));
    assert_eq!(srv.status_code, StatusCode::Unset);
    let (client, srv) = pair(&spans, &dump, "grpc.health.v1.Health/Check", 2);
    for s in [client, srv] {
        assert_eq!(s.attr_int("rpc.grpc.status_code"), Some(13));
        assert_eq!(s.status_code, StatusCode::Error);
        assert_eq!(s.attr_str("error.type"), Some("INTERNAL"));
        assert_eq!(s.status_message, "boom");
    }

    // Streams: one span per stream on each side, ended when the stream is.
    for (name, service, method) in
        [("grpc.health.v1.Health/Watch", "grpc.health.v1.Health", "Watch"), ("weft.test.Echo/Chat", "weft.test.Echo", "Chat")]
    {
        let (client, srv) = pair(&spans, &dump, name, 0);
        for s in [client, srv] {
            assert_eq!(s.attr_str("rpc.service"), Some(service));
            assert_eq!(s.attr_str("rpc.method"), Some(method));
            assert_eq!(s.attr_int("rpc.grpc.status_code"), Some(0));
            assert_eq!(s.status_code, StatusCode::Unset);
        }
        // The client span covers the whole stream, server side included.
        assert!(client.start_unix_nano <= srv.start_unix_nano && client.end_unix_nano >= srv.end_unix_nano, "{name}:\n{dump}");
    }
    server.stop(SIGTERM);
}

#[test]
fn grpc_oldest_on_go122() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("grpc");
    build(&repo().join("tests/go/grpc/oldest"), Some("go1.22.10"), &bin);
    check("v1.54", &bin, tmp.path());
}

#[test]
fn grpc_newest() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("grpc");
    build(&repo().join("tests/go/grpc"), None, &bin);
    check("v1.85", &bin, tmp.path());
}
