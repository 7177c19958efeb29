//! Trace context across processes through the environment (OpenTelemetry's
//! environment-variable carrier; tests/go/procs): a child process started
//! inside a span gets TRACEPARENT naming it and continues the trace; one
//! started outside any span inherits what its parent got; a process started
//! with TRACEPARENT parents its own root spans on it, but not its server
//! spans, which start from what the caller sent.

mod support;

use std::process::Command;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

fn from<'a>(spans: &'a [SpanRecord], kind: SpanKind, from: &str, dump: &str) -> &'a SpanRecord {
    let m: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == kind && s.attr_str("url.path").or(s.attr_str("url.full")).is_some_and(|u| u.ends_with(&format!("/ping/{from}"))))
        .collect();
    assert_eq!(m.len(), 1, "one {kind:?} span for /ping/{from}:\n{dump}");
    m[0]
}

#[test]
fn child_processes_continue_the_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("procs");
    run_ok(&mut weft_build(&repo().join("tests/go/procs"), &bin, None));
    for inherited in [false, true] {
        let rx = Receiver::start("127.0.0.1:0").unwrap();
        let mut cmd = Command::new(&bin);
        cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()).env_remove("TRACEPARENT").env_remove("TRACESTATE");
        if inherited {
            // (and a lower-case "traceparent" of the program's own: another
            // variable, which the children still get)
            cmd.env("TRACEPARENT", format!("00-{TRACE}-{PARENT}-01")).env("traceparent", "mine");
        }
        let out = String::from_utf8(run_ok(&mut cmd).stdout).unwrap();
        let spans = rx.wait_for_spans(8, std::time::Duration::from_secs(10));
        let dump = weft::receiver::render_traces(&spans, false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");

        // 1. the child started outside any span gets what this process got
        let first = from(&spans, SpanKind::Client, "main", &dump);
        if inherited {
            assert_eq!(lines[0], format!("main: 00-{TRACE}-{PARENT}-01 own=mine"));
            assert_eq!((first.trace_id.as_str(), first.parent_span_id.as_str()), (TRACE, PARENT), "{dump}");
        } else {
            assert_eq!(lines[0], "main: -");
            assert!(first.parent_span_id.is_empty(), "{dump}");
        }

        // 2. the child started in /run's server span gets that span, once
        let run = spans.iter().find(|s| s.name == "GET /run").unwrap_or_else(|| panic!("no GET /run:\n{dump}"));
        let own = if inherited { " own=mine" } else { "" };
        assert_eq!(lines[1], format!("run: 00-{}-{}-01{own}", run.trace_id, run.span_id), "{dump}");
        let child = from(&spans, SpanKind::Client, "run", &dump);
        assert_eq!((&child.trace_id, &child.parent_span_id), (&run.trace_id, &run.span_id), "{dump}");
        let ping = from(&spans, SpanKind::Server, "run", &dump);
        assert_eq!(ping.parent_span_id, child.span_id, "{dump}");
        // the request to /run is this process's own root span: under TRACEPARENT when given
        let caller = spans.iter().find(|s| s.span_id == run.parent_span_id).unwrap_or_else(|| panic!("no caller of /run:\n{dump}"));
        assert_eq!(caller.kind, SpanKind::Client);
        let want = if inherited { PARENT } else { "" };
        assert_eq!(caller.parent_span_id, want, "{dump}");

        // 3. a server span for a request without traceparent is a root, TRACEPARENT or not
        assert_eq!(lines[2], "raw: HTTP/1.0 200 OK");
        let raw = from(&spans, SpanKind::Server, "raw", &dump);
        assert!(raw.parent_span_id.is_empty() && raw.trace_id != TRACE, "{dump}");
    }
}

/// A process that replaces itself (syscall.Exec, tests/go/reexec) exports
/// the spans it ended first: no exit hook runs for an exec.
#[test]
fn spans_ended_before_exec_are_exported() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("reexec");
    run_ok(&mut weft_build(&repo().join("tests/go/reexec"), &bin, None));
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let out = run_ok(Command::new(&bin).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()).env_remove("TRACEPARENT"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first run done\nsecond run done\n");
    let spans = rx.wait_for(|s| s.len() >= 4, std::time::Duration::from_secs(10));
    let dump = weft::receiver::render_traces(&spans, false);
    for run in ["first", "second"] {
        let server = spans.iter().filter(|s| s.kind == SpanKind::Server && s.attr_str("url.path") == Some(&format!("/{run}"))).count();
        assert_eq!(server, 1, "{run}:\n{dump}");
    }
    assert_eq!(spans.len(), 4, "{dump}");
}
