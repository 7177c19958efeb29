//! HTTP/2 without TLS through golang.org/x/net/http2/h2c (tests/go/h2c):
//! the streams are served by x/net/http2, never by net/http's
//! serverHandler, so rules/xnethttp2 makes their server spans. Each is the
//! child of its client span, named after the ServeMux route, with the
//! status; the connection itself ("PRI *") gets none. Built with x/net
//! v0.30.0 and with the oldest the rule covers, v0.8.0 (oldest.mod, whose
//! go.mod says go 1.17: the rule's code must compile at that language
//! version).

mod support;

use std::process::Command;
use support::*;
use weft::receiver::{Receiver, SpanKind};

#[test]
fn h2c_streams_get_server_spans() {
    h2c_spans(None);
}

#[test]
fn h2c_streams_get_server_spans_oldest() {
    h2c_spans(Some("oldest.mod"));
}

fn h2c_spans(modfile: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("h2c");
    build_clean(&mut weft_build(&repo().join("tests/go/h2c"), &bin, modfile));
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let out = run_ok(Command::new(&bin).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200 /items/1 HTTP/2.0\n200 /items/2 HTTP/2.0\n503 failed\n");
    let spans = rx.spans();
    let dump = weft::receiver::render_traces(&spans, false);
    let servers: Vec<_> = spans.iter().filter(|s| s.kind == SpanKind::Server).collect();
    assert_eq!(servers.len(), 3, "one per stream, none for the connection:\n{dump}");
    for (path, status) in [("/items/1", 200), ("/items/2", 200), ("/fail", 503)] {
        let s = servers.iter().find(|s| s.attr_str("url.path") == Some(path)).unwrap_or_else(|| panic!("{path}:\n{dump}"));
        let client = spans.iter().find(|c| c.kind == SpanKind::Client && c.span_id == s.parent_span_id);
        assert!(client.is_some_and(|c| c.trace_id == s.trace_id), "{path}: parent is its client span:\n{dump}");
        assert_eq!(s.attr_str("network.protocol.version"), Some("2"), "{dump}");
        assert_eq!(s.attr_int("http.response.status_code"), Some(status), "{dump}");
    }
    let item = servers.iter().find(|s| s.attr_str("url.path") == Some("/items/1")).unwrap();
    assert_eq!((item.name.as_str(), item.attr_str("http.route")), ("GET /items/", Some("/items/")), "{dump}");
}
