//! Requests that reach an http.Transport without an http.Client: an
//! httputil.ReverseProxy gets a client span for each request it forwards,
//! and the backend continues the proxy's trace, not its caller's span. A
//! request an http.Client sent (traced in `send`) gets no second client
//! span from the Transport, even when the client's RoundTripper hands the
//! Transport a clone of it (tests/go/proxy).

mod support;

use std::process::Command;
use support::*;
use weft::receiver::{Receiver, SpanKind};

#[test]
fn reverse_proxy_requests_get_client_spans_once() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("proxy");
    run_ok(&mut weft_build(&repo().join("tests/go/proxy"), &bin, None));
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let out = run_ok(Command::new(&bin).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200 backend /items\n");
    let spans = rx.spans();
    let dump = weft::receiver::render_traces(&spans, false);
    let kinds = |k: SpanKind| spans.iter().filter(|s| s.kind == k).count();
    assert_eq!((kinds(SpanKind::Client), kinds(SpanKind::Server), spans.len()), (2, 2, 4), "{dump}");
    // client (the program's) -> proxy server -> proxy client -> backend server
    let root = spans.iter().find(|s| s.parent_span_id.is_empty()).unwrap_or_else(|| panic!("no root:\n{dump}"));
    assert_eq!(root.kind, SpanKind::Client, "{dump}");
    let child_of = |p: &weft::receiver::SpanRecord| {
        spans.iter().find(|s| s.parent_span_id == p.span_id).unwrap_or_else(|| panic!("no child of {}:\n{dump}", p.name))
    };
    let proxy = child_of(root);
    let forwarded = child_of(proxy);
    let backend = child_of(forwarded);
    assert_eq!((proxy.kind, forwarded.kind, backend.kind), (SpanKind::Server, SpanKind::Client, SpanKind::Server), "{dump}");
    assert!(spans.iter().all(|s| s.trace_id == root.trace_id), "{dump}");
    // The proxy forwards its caller's Host header; server.* name the host
    // it dialled, as url.full does.
    let url = forwarded.attr_str("url.full").unwrap_or_else(|| panic!("no url.full:\n{dump}"));
    let port: i64 = url.split('/').nth(2).and_then(|h| h.rsplit(':').next()).and_then(|p| p.parse().ok()).unwrap();
    assert_eq!(forwarded.attr_int("server.port"), Some(port), "{dump}");
    assert_ne!(forwarded.attr_int("server.port"), root.attr_int("server.port"), "{dump}");
}

/// A protocol switch through the proxy: both servers hand the connection
/// over (the backend hijacks it and writes its 101 raw, the proxy hijacks
/// its own to pass bytes through), so their spans carry no status (net/http
/// never learns it), while both client spans read the 101.
#[test]
fn hijacked_connections_report_no_status() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("proxy");
    run_ok(&mut weft_build(&repo().join("tests/go/proxy"), &bin, None));
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let out = run_ok(Command::new(&bin).arg("upgrade").env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "101 ping\n");
    let spans = rx.spans();
    let dump = weft::receiver::render_traces(&spans, false);
    assert_eq!(spans.len(), 4, "{dump}");
    for s in &spans {
        let want = if s.kind == SpanKind::Client { Some(101) } else { None };
        assert_eq!(s.attr_int("http.response.status_code"), want, "{} [{:?}]:\n{dump}", s.name, s.kind);
        assert!(!s.is_error(), "{dump}");
    }
}
