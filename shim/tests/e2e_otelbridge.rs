//! A program that traces with the OpenTelemetry Go SDK itself
//! (tests/go/otelbridge), built with `weft go build`: the SDK's spans and
//! weft's form one trace, weft parenting its spans on the SDK's current
//! span and the SDK on weft's where it has none of its own, at the oldest
//! (oldest.mod, v1.0.0) and newest (go.mod) API release of the rule's
//! range. Without the bridge the SDK's spans here are roots.

mod support;

use std::collections::HashMap;
use std::process::Command;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord};

/// An SDK span as the fixture prints it.
struct Sdk {
    trace: String,
    span: String,
    parent: String,
}

fn sdk_spans(stdout: &str) -> HashMap<String, Sdk> {
    let mut out = HashMap::new();
    for l in stdout.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if let ["otel", name, trace, span, parent] = f[..] {
            let parent = if parent.bytes().all(|b| b == b'0') { String::new() } else { parent.to_string() };
            out.insert(name.to_string(), Sdk { trace: trace.into(), span: span.into(), parent });
        }
    }
    out
}

fn one_trace(modfile: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("otelbridge");
    run_ok(&mut weft_build(&repo().join("tests/go/otelbridge"), &bin, modfile));

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let out = run_ok(Command::new(&bin).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let sdk = sdk_spans(&stdout);
    let spans = rx.wait_for(|s| s.len() >= 9, std::time::Duration::from_secs(20));
    let dump = format!("{stdout}\n{}", weft::receiver::render_traces(&spans, false));
    let server = |path: &str| server_span(&spans, path, &dump);
    let client_of = |srv: &SpanRecord| -> &SpanRecord {
        spans
            .iter()
            .find(|s| s.kind == SpanKind::Client && s.span_id == srv.parent_span_id)
            .unwrap_or_else(|| panic!("no client span parenting {}:\n{dump}", srv.name))
    };
    let (root, work) = (&sdk["root"], &sdk["handler-work"]);
    assert!(root.parent.is_empty(), "{dump}");

    // root (SDK) -> client (weft) -> GET /work (weft)
    let work_srv = server("/work");
    let work_client = client_of(work_srv);
    assert_eq!((&work_client.trace_id, &work_client.parent_span_id), (&root.trace, &root.span), "weft's client span is a child of the SDK's root:\n{dump}");
    // -> handler-work (SDK) -> client (weft) -> GET /leaf (weft)
    assert_eq!((&work.trace, &work.parent), (&work_srv.trace_id, &work_srv.span_id), "the SDK's span is a child of weft's server span:\n{dump}");
    let leaf_client = client_of(server("/leaf"));
    assert_eq!((&leaf_client.trace_id, &leaf_client.parent_span_id), (&work.trace, &work.span), "weft's client span is a child of the SDK's span:\n{dump}");

    // An SDK span started from context.Background() in a handler: its
    // parent is the goroutine's current span, weft's server span.
    let bg_srv = server("/bg");
    let bg = &sdk["bg-work"];
    assert_eq!((&bg.trace, &bg.parent), (&bg_srv.trace_id, &bg_srv.span_id), "{dump}");
    assert_ne!(bg.trace, root.trace, "{dump}");

    // What the API sees as current inside the transport, after weft's
    // client span started: the SDK's own span where the ctx has one, weft's
    // client span where it has none.
    let seen = |path: &str| {
        let prefix = format!("seen {path} ");
        stdout.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("{path} not seen:\n{dump}")).to_string()
    };
    assert_eq!(seen("/work"), root.span, "the API's own span stands:\n{dump}");
    assert_eq!(seen("/bg"), client_of(bg_srv).span_id, "{dump}");

    // The SDK exporter's own request (by its User-Agent) gets no client
    // span; the server side, the fixture's, is traced as any other.
    server("/v1/traces");
    assert!(
        !spans.iter().any(|s| s.kind == SpanKind::Client && s.attr_str("url.full").is_some_and(|u| u.ends_with("/v1/traces"))),
        "a client span for the SDK's export:\n{dump}"
    );

    // The SDK's propagator extracting the header weft's server span was
    // started from (as otelhttp's handler does): the SDK keeps the span it
    // found, so its span is the server span's sibling, in the same trace.
    let ex_srv = server("/extract");
    let ex = &sdk["extract-work"];
    assert_eq!((&ex.trace, &ex.parent), (&ex_srv.trace_id, &ex_srv.parent_span_id), "{dump}");
}

#[test]
fn sdk_and_weft_spans_form_one_trace_newest() {
    one_trace(None);
}

#[test]
fn sdk_and_weft_spans_form_one_trace_oldest() {
    one_trace(Some("oldest.mod"));
}

/// `WEFT_DISABLE_RULES=otel.bridge` leaves the API unwoven: the SDK's spans
/// are roots again, as in a plain build, and the rest is still traced. A
/// name that is no rule fails the build with a clear error.
#[test]
fn the_bridge_can_be_disabled() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("otelbridge");
    let dir = repo().join("tests/go/otelbridge");
    run_ok(weft_build(&dir, &bin, None).env("WEFT_DISABLE_RULES", "otel.bridge"));
    let inspect = run_ok(Command::new(weft()).arg("inspect").arg(&bin));
    let inspect = String::from_utf8_lossy(&inspect.stdout);
    assert!(inspect.contains("net/http") && !inspect.contains("go.opentelemetry.io"), "{inspect}");

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let out = run_ok(Command::new(&bin).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let sdk = sdk_spans(&stdout);
    assert_eq!(sdk.len(), 4, "{stdout}");
    // (extract-work has the parent it extracted from weft's header)
    assert!(["root", "handler-work", "bg-work"].iter().all(|n| sdk[*n].parent.is_empty()), "{stdout}");
    assert!(rx.wait_for(|s| s.len() >= 9, std::time::Duration::from_secs(20)).len() == 9);

    let out = weft_build(&dir, &bin, None).env("WEFT_DISABLE_RULES", "otel").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("WEFT_DISABLE_RULES names no rule \"otel\""), "{stderr}");
}
