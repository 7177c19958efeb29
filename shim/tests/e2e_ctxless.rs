//! Context without ctx: the runtime is woven so each goroutine carries the
//! request's context. Ctx-less calls in a handler and in goroutines it
//! starts join the request's trace; a worker pool started before any
//! request never inherits one, and a reused connection goroutine never
//! keeps the previous request's. Built normally and with -race.

mod support;

use std::process::Command;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord};

fn client_to<'a>(spans: &'a [SpanRecord], from: &str) -> Vec<&'a SpanRecord> {
    spans
        .iter()
        .filter(|s| s.kind == SpanKind::Client && s.attr_str("url.full").is_some_and(|u| u.ends_with(&format!("/leaf/{from}"))))
        .collect()
}

fn check(race: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("ctxless");
    let mut args = vec!["build"];
    if race {
        args.push("-race");
    }
    args.extend(["-o", bin.to_str().unwrap(), "."]);
    run_ok(&mut weft_go(&repo().join("tests/go/ctxless"), &args));
    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let out = run_ok(Command::new(&bin).args(["/a", "/pool", "/a"]).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("DATA RACE"), "{}", String::from_utf8_lossy(&out.stderr));
    let spans = rx.spans();
    let dump = weft::receiver::render_traces(&spans, false);

    let a: Vec<&SpanRecord> = spans.iter().filter(|s| s.kind == SpanKind::Server && s.name == "GET /a").collect();
    assert_eq!(a.len(), 2, "{dump}");
    let handler = client_to(&spans, "handler");
    let child = client_to(&spans, "child");
    assert_eq!((handler.len(), child.len()), (2, 2), "{dump}");
    for srv in &a {
        // Each request gets exactly its own ctx-less calls, none of the other's.
        assert_eq!(handler.iter().filter(|c| c.parent_span_id == srv.span_id).count(), 1, "handler call under {}:\n{dump}", srv.span_id);
        assert_eq!(child.iter().filter(|c| c.parent_span_id == srv.span_id).count(), 1, "child goroutine call under {}:\n{dump}", srv.span_id);
    }
    for c in handler.iter().chain(&child) {
        let leaf = spans.iter().find(|s| s.kind == SpanKind::Server && s.parent_span_id == c.span_id).expect("the leaf continues the trace");
        assert_eq!(leaf.trace_id, c.trace_id);
    }
    // The pool's goroutine was started before any request: its call is a
    // root of its own, never a child of /pool.
    let pool_srv = spans.iter().find(|s| s.kind == SpanKind::Server && s.name == "GET /pool").unwrap();
    let pool = client_to(&spans, "pool");
    assert_eq!(pool.len(), 1, "{dump}");
    assert!(pool[0].parent_span_id.is_empty(), "pool call leaked a request context:\n{dump}");
    assert_ne!(pool[0].trace_id, pool_srv.trace_id);
    for s in &spans {
        assert!(s.duration_nanos() >= 0);
    }
}

#[test]
fn ctxless_calls_join_the_request_and_never_leak() {
    check(false);
}

#[test]
fn ctxless_under_the_race_detector() {
    check(true);
}
