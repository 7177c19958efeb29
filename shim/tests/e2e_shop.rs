//! End to end: the two shop services under examples/, built with
//! `weft go build` (and with a wrapped SDK's bin/go), run against a real
//! MariaDB, export OTLP to a receiver that decodes with the official
//! protobuf definitions. One request must make one connected trace.

mod support;

use std::path::Path;
use std::time::Duration;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord, StatusCode};

struct Shop {
    frontend: Proc,
    inventory: Proc,
    frontend_addr: String,
}

fn start_shop(bins: &Path, rx: &Receiver, logs: &Path) -> Shop {
    start_shop_with(bins, rx, logs, &[])
}

/// The shop, with more environment for both services.
fn start_shop_with(bins: &Path, rx: &Receiver, logs: &Path, env: &[(&str, &str)]) -> Shop {
    let (fport, iport) = (free_port(), free_port());
    let frontend_addr = format!("127.0.0.1:{fport}");
    let inventory_addr = format!("127.0.0.1:{iport}");
    let common = |name: &str| {
        let mut c = std::process::Command::new(bins.join(name));
        c.env("MYSQL_DSN", mysql_dsn())
            .env("OTEL_SERVICE_NAME", name)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint())
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .envs(env.iter().copied());
        c
    };
    let mut inventory = Proc::spawn("inventory", common("inventory").env("INVENTORY_ADDR", &inventory_addr), logs);
    inventory.wait_port(&inventory_addr);
    let mut frontend = Proc::spawn(
        "frontend",
        common("frontend").env("FRONTEND_ADDR", &frontend_addr).env("INVENTORY_URL", format!("http://{inventory_addr}")),
        logs,
    );
    frontend.wait_port(&frontend_addr);
    Shop { frontend, inventory, frontend_addr }
}

fn one<'a>(spans: &'a [SpanRecord], what: &str, f: impl Fn(&SpanRecord) -> bool) -> &'a SpanRecord {
    let found: Vec<_> = spans.iter().filter(|s| f(s)).collect();
    assert_eq!(found.len(), 1, "expected one {what}, got {}:\n{}", found.len(), weft::receiver::render_traces(spans, false));
    found[0]
}

/// Checks the trace of one GET /checkout/1.
fn assert_checkout_trace(spans: &[SpanRecord]) {
    let fe = one(spans, "frontend server span", |s| s.service_name == "frontend" && s.kind == SpanKind::Server);
    assert_eq!(fe.name, "GET /checkout/{id}");
    assert_eq!(fe.attr_str("http.route"), Some("/checkout/{id}"));
    assert_eq!(fe.attr_str("http.request.method"), Some("GET"));
    assert_eq!(fe.attr_str("url.path"), Some("/checkout/1"));
    assert_eq!(fe.attr_str("url.scheme"), Some("http"));
    assert_eq!(fe.attr_int("http.response.status_code"), Some(200));
    assert_eq!(fe.attr_str("network.protocol.version"), Some("1.1"));
    assert_eq!(fe.attr_str("server.address"), Some("127.0.0.1"));
    assert!(fe.attr_str("user_agent.original").is_some());
    assert_eq!(fe.status_code, StatusCode::Unset);
    assert_eq!(fe.scope_name, "weft/net/http");
    assert_eq!(fe.resource_str("telemetry.sdk.language"), Some("go"));

    let client = one(spans, "frontend client span", |s| s.service_name == "frontend" && s.kind == SpanKind::Client && s.attr("http.request.method").is_some());
    assert_eq!(client.name, "GET");
    assert_eq!(client.parent_span_id, fe.span_id, "client call is a child of the request");
    assert!(client.attr_str("url.full").unwrap().ends_with("/stock/1"));
    assert_eq!(client.attr_int("http.response.status_code"), Some(200));

    let inv = one(spans, "inventory server span", |s| s.service_name == "inventory" && s.kind == SpanKind::Server);
    assert_eq!(inv.name, "GET /stock/{id}");
    assert_eq!(inv.parent_span_id, client.span_id, "inventory continues the frontend's trace");
    assert_eq!(inv.trace_id, fe.trace_id);

    let fe_sql = one(spans, "frontend SELECT", |s| s.service_name == "frontend" && s.attr_str("db.operation.name") == Some("SELECT"));
    assert_eq!(fe_sql.parent_span_id, fe.span_id);
    assert_eq!(fe_sql.kind, SpanKind::Client);
    assert_eq!(fe_sql.name, "SELECT products");
    assert_eq!(fe_sql.attr_str("db.system.name"), Some("mysql"));
    assert_eq!(fe_sql.attr_str("db.collection.name"), Some("products"));
    assert_eq!(fe_sql.attr_str("db.namespace"), Some("weftshop"));
    assert_eq!(fe_sql.attr_str("server.address"), Some("127.0.0.1"));
    let q = fe_sql.attr_str("db.query.text").unwrap();
    assert!(q.starts_with("SELECT name, price FROM products WHERE id = ?"), "{q}");

    let inv_sql = one(spans, "inventory SELECT", |s| s.service_name == "inventory" && s.attr_str("db.operation.name") == Some("SELECT"));
    assert_eq!(inv_sql.parent_span_id, inv.span_id);
    assert_eq!(inv_sql.name, "SELECT stock");

    for s in spans {
        assert_eq!(s.trace_id, fe.trace_id, "one trace:\n{}", weft::receiver::render_traces(spans, false));
        assert!(s.duration_nanos() >= 0, "negative duration on {}", s.name);
        assert!(s.start_unix_nano > 0);
    }
    // Children start within their parent.
    for s in spans.iter().filter(|s| !s.parent_span_id.is_empty()) {
        let p = spans.iter().find(|p| p.span_id == s.parent_span_id).unwrap();
        assert!(s.start_unix_nano >= p.start_unix_nano, "{} starts before its parent {}", s.name, p.name);
    }
}

fn checkout_and_collect(shop: &Shop, rx: &Receiver) -> Vec<SpanRecord> {
    rx.clear();
    let (status, body) = get(&format!("http://{}/checkout/1", shop.frontend_addr), &[]);
    assert_eq!(status, 200, "{body}");
    let spans = rx.wait_for(
        |s| s.iter().any(|x| x.service_name == "inventory" && x.kind == SpanKind::Server)
            && s.iter().any(|x| x.service_name == "frontend" && x.kind == SpanKind::Server)
            && s.iter().filter(|x| x.attr("db.system.name").is_some()).count() >= 3,
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_millis(400)); // anything late would show up as an extra span
    let all = rx.spans();
    assert!(spans.len() <= all.len());
    all.into_iter().filter(|s| s.trace_id == spans.iter().find(|x| x.service_name == "frontend" && x.kind == SpanKind::Server).unwrap().trace_id).collect()
}

fn build_shop(bins: &Path, build: impl Fn(&Path, &str)) {
    for name in ["frontend", "inventory"] {
        build(&bins.join(name), &format!("./shop/{name}"));
    }
}

#[test]
fn one_request_one_trace_across_two_services() {
    let tmp = tempfile::tempdir().unwrap();
    let examples = repo().join("examples");
    build_shop(tmp.path(), |out, pkg| {
        run_ok(&mut weft_go(&examples, &["build", "-o", out.to_str().unwrap(), pkg]));
    });
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let mut shop = start_shop(tmp.path(), &rx, tmp.path());
    let spans = checkout_and_collect(&shop, &rx);
    assert_checkout_trace(&spans);
    // An incoming traceparent is continued.
    rx.clear();
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (status, _) = get(&format!("http://{}/checkout/2", shop.frontend_addr), &[("traceparent", parent)]);
    assert_eq!(status, 200);
    let spans = rx.wait_for(|s| s.iter().any(|x| x.kind == SpanKind::Server && x.service_name == "frontend"), Duration::from_secs(20));
    let fe = spans.iter().find(|x| x.kind == SpanKind::Server && x.service_name == "frontend").unwrap();
    assert_eq!(fe.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(fe.parent_span_id, "00f067aa0ba902b7");
    // Unknown product: a 404 is not a server error.
    rx.clear();
    let (status, _) = get(&format!("http://{}/checkout/999", shop.frontend_addr), &[]);
    assert_eq!(status, 404);
    // (Spans of the previous request may still arrive: pick this one's.)
    let this = |x: &&SpanRecord| {
        x.kind == SpanKind::Server && x.service_name == "frontend" && x.attr_str("url.path") == Some("/checkout/999")
    };
    let spans = rx.wait_for(|s| s.iter().any(|x| this(&x)), Duration::from_secs(20));
    let fe = spans.iter().find(this).unwrap();
    assert_eq!(fe.attr_int("http.response.status_code"), Some(404));
    assert_eq!(fe.status_code, StatusCode::Unset);

    assert!(shop.frontend.stop(SIGTERM).success(), "{}", shop.frontend.output());
    assert!(shop.inventory.stop(SIGTERM).success(), "{}", shop.inventory.output());
}

/// With OTEL_PROPAGATORS=b3multi both services speak B3's X-B3-* headers:
/// the frontend continues the caller's trace from them and hands it to the
/// inventory through them.
#[test]
fn b3_headers_carry_the_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let examples = repo().join("examples");
    build_shop(tmp.path(), |out, pkg| {
        run_ok(&mut weft_go(&examples, &["build", "-o", out.to_str().unwrap(), pkg]));
    });
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let mut shop = start_shop_with(tmp.path(), &rx, tmp.path(), &[("OTEL_PROPAGATORS", "b3multi")]);
    let b3 = [("X-B3-TraceId", "4bf92f3577b34da6a3ce929d0e0e4736"), ("X-B3-SpanId", "00f067aa0ba902b7"), ("X-B3-Sampled", "1")];
    let (status, _) = get(&format!("http://{}/checkout/2", shop.frontend_addr), &b3);
    assert_eq!(status, 200);
    let server = |s: &SpanRecord, service: &str| s.kind == SpanKind::Server && s.service_name == service;
    let spans = rx.wait_for(|s| s.iter().any(|x| server(x, "frontend")) && s.iter().any(|x| server(x, "inventory")), Duration::from_secs(20));
    let dump = weft::receiver::render_traces(&spans, false);
    let fe = spans.iter().find(|x| server(x, "frontend")).unwrap();
    assert_eq!((fe.trace_id.as_str(), fe.parent_span_id.as_str()), ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"), "{dump}");
    let inv = spans.iter().find(|x| server(x, "inventory")).unwrap();
    let client = spans.iter().find(|c| c.kind == SpanKind::Client && c.span_id == inv.parent_span_id);
    assert!(client.is_some_and(|c| c.service_name == "frontend" && c.trace_id == fe.trace_id), "{dump}");
    assert!(shop.frontend.stop(SIGTERM).success(), "{}", shop.frontend.output());
    assert!(shop.inventory.stop(SIGTERM).success(), "{}", shop.inventory.output());
}

#[test]
fn wrapped_sdk_builds_the_same_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let sdk = tmp.path().join("sdk");
    run_ok(std::process::Command::new(weft()).args(["sdk", "--out", sdk.to_str().unwrap()]));
    let examples = repo().join("examples");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    build_shop(&a, |out, pkg| {
        run_ok(&mut weft_go(&examples, &["build", "-trimpath", "-o", out.to_str().unwrap(), pkg]));
    });
    build_shop(&b, |out, pkg| {
        run_ok(
            std::process::Command::new(sdk.join("bin/go"))
                .args(["build", "-trimpath", "-o", out.to_str().unwrap(), pkg])
                .current_dir(&examples)
                .env("WEFT_CACHE", cache()),
        );
    });
    for name in ["frontend", "inventory"] {
        assert_eq!(sha256(&a.join(name)), sha256(&b.join(name)), "{name} differs between weft go build and DIR/bin/go build");
    }
    // And the SDK-built binaries really are instrumented.
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let mut shop = start_shop(&b, &rx, tmp.path());
    assert_checkout_trace(&checkout_and_collect(&shop, &rx));
    shop.frontend.stop(SIGTERM);
    shop.inventory.stop(SIGTERM);
}
