//! Log correlation end to end: a net/http server (tests/go/logs) logs with
//! log, log/slog (default, text and JSON handlers), logrus, zap (plain and
//! sugared) and zerolog, outside any span and inside a request's handler.
//! Inside, every line carries the server span's ids (compared with the
//! span decoded from OTLP); outside, every line is exactly what the library
//! writes without weft, and so is every line that carries a trace_id or
//! span_id of the program's own (a field of the call, a With, a WithField),
//! and every line a log.Logger writes into memory rather than a file. Built with the oldest libraries on Go 1.22 and with
//! the newest on the current Go.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;
use weft::receiver::{Receiver, SpanKind};

/// Each logger's line, `{w}` standing for outside/inside and `{ids}` for
/// where the ids go (with `{t}`/`{s}` for the trace and span id).
const LINES: &[(&str, &str)] = &[
    ("std {w}{ids}", " trace_id={t} span_id={s}"),
    ("INFO slog-default {w}{ids}", " trace_id={t} span_id={s}"),
    ("level=INFO msg=\"slog-text {w}\" k=1{ids}", " trace_id={t} span_id={s}"),
    ("{\"level\":\"INFO\",\"msg\":\"slog-json {w}\",\"k\":1{ids}}", ",\"trace_id\":\"{t}\",\"span_id\":\"{s}\""),
    ("{\"k\":1,\"level\":\"info\",\"msg\":\"logrus {w}\"{ids}}", ",\"span_id\":\"{s}\",\"trace_id\":\"{t}\""),
    ("{\"level\":\"info\",\"msg\":\"zap {w}\",\"k\":1{ids}}", ",\"trace_id\":\"{t}\",\"span_id\":\"{s}\""),
    ("{\"level\":\"info\",\"msg\":\"zap-sugar {w}\",\"k\":1{ids}}", ",\"trace_id\":\"{t}\",\"span_id\":\"{s}\""),
    ("{\"level\":\"info\",\"k\":1{ids},\"message\":\"zerolog {w}\"}", ",\"trace_id\":\"{t}\",\"span_id\":\"{s}\""),
];

/// The lines logged with ids of the program's own, as the libraries write
/// them without weft: no second trace_id or span_id key.
const OWN: &[&str] = &[
    "INFO slog-default own trace_id=app",
    "level=INFO msg=\"slog-text own\" span_id=app",
    "{\"level\":\"INFO\",\"msg\":\"slog-json own\",\"trace_id\":\"app\"}",
    "{\"level\":\"info\",\"msg\":\"logrus own\",\"trace_id\":\"app\"}",
    "{\"level\":\"info\",\"msg\":\"zap own\",\"trace_id\":\"app\"}",
    "{\"level\":\"info\",\"msg\":\"zap-with own\",\"span_id\":\"app\"}",
    "{\"level\":\"info\",\"msg\":\"zap-sugar own\",\"trace_id\":\"app\"}",
    "{\"level\":\"info\",\"span_id\":\"app\",\"message\":\"zerolog own\"}",
    "{\"level\":\"info\",\"trace_id\":\"app\",\"message\":\"zerolog-with own\"}",
    "std buffered",
];

fn expected(where_: &str, ids: Option<(&str, &str)>) -> Vec<String> {
    LINES
        .iter()
        .map(|(line, at)| {
            let ids = ids.map(|(t, s)| at.replace("{t}", t).replace("{s}", s)).unwrap_or_default();
            line.replace("{w}", where_).replace("{ids}", &ids)
        })
        .collect()
}

fn check(modfiles: &Path, toolchain: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(repo().join("tests/go/logs/main.go"), src.join("main.go")).unwrap();
    for f in ["go.mod", "go.sum"] {
        std::fs::copy(modfiles.join(f), src.join(f)).unwrap();
    }
    let bin = tmp.path().join("logs");
    let mut c = weft_go(&src, &["build", "-o", bin.to_str().unwrap(), "."]);
    if let Some(go) = toolchain {
        c.env("GOTOOLCHAIN", go);
    }
    let built = run_ok(&mut c);
    let warnings = String::from_utf8_lossy(&built.stderr);
    assert!(!warnings.contains("weft: rule"), "a rule was skipped:\n{warnings}");

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Proc::spawn(
        "logs",
        Command::new(&bin).arg(&addr).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()).env("OTEL_BSP_SCHEDULE_DELAY", "100"),
        tmp.path(),
    );
    server.wait_port(&addr);
    let (status, body) = get(&format!("http://{addr}/log"), &[]);
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let spans = rx.wait_for(|s| s.iter().any(|x| x.kind == SpanKind::Server), Duration::from_secs(20));
    let srv = spans.iter().find(|x| x.kind == SpanKind::Server).unwrap();
    assert_eq!(srv.name, "GET /log");
    server.stop(SIGTERM);

    let out = server.output();
    let got: Vec<&str> = out.lines().collect();
    let mut want = expected("outside", None);
    want.extend(expected("inside", Some((&srv.trace_id, &srv.span_id))));
    want.extend(OWN.iter().map(|l| l.to_string()));
    assert!(got.len() >= want.len(), "{out}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "whole output:\n{out}");
    }
}

#[test]
fn log_lines_carry_the_span_oldest_on_go122() {
    check(&repo().join("tests/go/logs/oldest"), Some("go1.22.10"));
}

#[test]
fn log_lines_carry_the_span_newest() {
    check(&repo().join("tests/go/logs"), None);
}
