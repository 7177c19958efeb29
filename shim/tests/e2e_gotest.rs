//! `weft go test ./...` on a module whose tests check for leaked
//! goroutines with go.uber.org/goleak (tests/go/gotest): one package
//! serves HTTP (net/http woven, spans exported at exit), the other only
//! logs (package log is woven for the whole build, so its test binary must
//! link weft's runtime too). Both pass as they do under plain `go test`,
//! and the web test's spans (HTTP/1 and HTTP/2) reach the collector, on
//! the oldest and newest Go releases weft supports.

mod support;

use support::*;
use weft::receiver::{Receiver, SpanKind};

/// The Go releases tried: the one on PATH, the oldest supported (whose vet
/// reads files by their paths on disk) and 1.27 (whose HTTP/2 server moved
/// to net/http/internal/http2), fetched as toolchains by the module proxy.
const RELEASES: [Option<&str>; 3] = [None, Some("go1.22.10"), Some("go1.27.0")];

#[test]
fn go_test_all_packages_passes_goleak_and_exports() {
    let dir = repo().join("tests/go/gotest");
    for go in RELEASES {
        let rx = Receiver::start("127.0.0.1:0").unwrap();
        let mut cmd = weft_go(&dir, &["test", "-count=1", "./..."]);
        cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint());
        if let Some(go) = go {
            cmd.env("GOTOOLCHAIN", go);
        }
        let out = run_ok(&mut cmd);
        let stdout = String::from_utf8_lossy(&out.stdout);
        for pkg in ["logonly", "web"] {
            assert!(stdout.lines().any(|l| l.starts_with("ok") && l.contains(&format!("weft-gotest-fixture/{pkg}"))), "{go:?}: {stdout}");
        }
        let spans = rx.spans();
        let dump = weft::receiver::render_traces(&spans, false);
        let server = |path: &str| {
            spans
                .iter()
                .find(|s| s.kind == SpanKind::Server && s.attr_str("url.path") == Some(path))
                .unwrap_or_else(|| panic!("{go:?}: no server span for {path}:\n{dump}"))
        };
        let hello = server("/hello");
        let client = spans.iter().find(|s| s.kind == SpanKind::Client && s.span_id == hello.parent_span_id);
        assert!(client.is_some_and(|c| c.trace_id == hello.trace_id), "{go:?}: the server span's parent is the client span:\n{dump}");
        assert!(
            !spans.iter().any(|s| s.attr_str("url.full").is_some_and(|u| u.contains("dump.invalid"))),
            "{go:?}: a span for httputil.DumpRequestOut, which sends nothing:\n{dump}"
        );
        let h2 = server("/h2");
        assert_eq!(h2.attr_str("network.protocol.version"), Some("2"), "{go:?}:\n{dump}");
        assert_eq!(h2.attr_int("http.response.status_code"), Some(201), "{go:?}:\n{dump}");
    }
}

/// `-cover` runs cover on every file of the packages it covers, by their
/// paths on disk; weft's link file exists only in the overlay. Coverage
/// must work and read exactly as without weft.
#[test]
fn cover_works_and_counts_only_the_users_statements() {
    let dir = repo().join("tests/go/gotest");
    for go in RELEASES {
        let mut cmd = weft_go(&dir, &["test", "-count=1", "-cover", "./..."]);
        cmd.env("OTEL_SDK_DISABLED", "true");
        if let Some(go) = go {
            cmd.env("GOTOOLCHAIN", go);
        }
        let out = run_ok(&mut cmd);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.matches("coverage: [no statements]").count(), 2, "{go:?}: {stdout}");
    }

    // A coverage-instrumented program: the same figure as plain go's.
    let hello = repo().join("tests/go/hello");
    let tmp = tempfile::tempdir().unwrap();
    let percent = |bin: &std::path::Path, data: &str| {
        let data = tmp.path().join(data);
        std::fs::create_dir_all(&data).unwrap();
        run_ok(std::process::Command::new(bin).arg("world").env("GOCOVERDIR", &data).env("OTEL_SDK_DISABLED", "true"));
        let out = run_ok(std::process::Command::new("go").args(["tool", "covdata", "percent", "-i"]).arg(&data).env_remove("GOFLAGS"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let woven = tmp.path().join("woven");
    run_ok(&mut weft_go(&hello, &["build", "-cover", "-o", woven.to_str().unwrap(), "."]));
    let plain = tmp.path().join("plain");
    run_ok(std::process::Command::new("go").args(["build", "-cover", "-o", plain.to_str().unwrap(), "."]).current_dir(&hello).env_remove("GOFLAGS"));
    let (w, p) = (percent(&woven, "w"), percent(&plain, "p"));
    assert!(w.contains("example.com/hello") && w.contains("% of statements"), "{w}");
    assert_eq!(w, p);
}

/// With the collector down, a failed export waits to be retried while the
/// tests still run (the schedule delay is 1 ms, so one is waiting when
/// goleak checks): that wait must hold no goroutine, and the test binary
/// reports the loss at exit instead of failing.
#[test]
fn go_test_passes_goleak_with_the_collector_down() {
    let dir = repo().join("tests/go/gotest");
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut cmd = weft_go(&dir, &["test", "-count=1", "-v", "./web"]);
    cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{down}"));
    cmd.env("OTEL_BSP_SCHEDULE_DELAY", "1");
    let out = run_ok(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("ok") && l.contains("weft-gotest-fixture/web")), "{stdout}");
    assert!(stdout.contains("spans lost (export failed: connection refused)"), "the loss is reported: {stdout}");
}
