//! `weft go test ./...` on a module whose tests check for leaked
//! goroutines with go.uber.org/goleak (tests/go/gotest): one package
//! serves HTTP (net/http woven, spans exported at exit), the other only
//! logs (package log is woven for the whole build, so its test binary must
//! link weft's runtime too). Both pass as they do under plain `go test`,
//! and the web test's spans reach the collector.

mod support;

use support::*;
use weft::receiver::{Receiver, SpanKind};

#[test]
fn go_test_all_packages_passes_goleak_and_exports() {
    let dir = repo().join("tests/go/gotest");
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let out = run_ok(weft_go(&dir, &["test", "-count=1", "./..."]).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for pkg in ["logonly", "web"] {
        assert!(stdout.lines().any(|l| l.starts_with("ok") && l.contains(&format!("weft-gotest-fixture/{pkg}"))), "{stdout}");
    }
    let spans = rx.spans();
    let dump = weft::receiver::render_traces(&spans, false);
    let server = spans.iter().find(|s| s.kind == SpanKind::Server).unwrap_or_else(|| panic!("no server span:\n{dump}"));
    assert_eq!(server.attr_str("url.path"), Some("/hello"), "{dump}");
    let client = spans.iter().find(|s| s.kind == SpanKind::Client).unwrap_or_else(|| panic!("no client span:\n{dump}"));
    assert_eq!((server.trace_id.as_str(), server.parent_span_id.as_str()), (client.trace_id.as_str(), client.span_id.as_str()), "{dump}");
}
