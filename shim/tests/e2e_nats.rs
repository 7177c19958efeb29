//! NATS through nats.go end to end: tests/go/nats is a net/http server whose
//! handlers publish to a real NATS server (tests/services/nats.sh) and wait
//! for their subscribers. Built with the newest nats.go (go.mod), v1.47.0
//! (middle.mod: the last before `publish` took a validateReply flag) and the
//! oldest the rules cover, v1.11.0 (oldest.mod). Each publish is a producer
//! span under the code that published; each message a callback processes
//! is a consumer span, child of its publisher through the message headers;
//! the program's own headers, its own traceparent and a message with no room
//! left under max_payload are kept as they are.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord, StatusCode};

fn nats_url() -> String {
    std::env::var("WEFT_TEST_NATS_URL").unwrap_or_else(|_| {
        panic!("WEFT_TEST_NATS_URL is not set: start NATS with `tests/services/nats.sh start && eval \"$(tests/services/nats.sh env)\"` or run tests/run.sh")
    })
}

const PATHS: [&str; 11] = ["/publish", "/request", "/requestbg", "/inbox", "/headers", "/own", "/big", "/wild", "/js", "/closed", "/early"];

fn nats_spans(modfile: Option<&str>) {
    let url = nats_url();
    // Subjects of this run's own: the tests share the server.
    let pre = unique("t");
    let subj = |s: &str| format!("{pre}.{s}");
    let port: i64 = url.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).expect("a port in WEFT_TEST_NATS_URL");
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("nats");
    build_clean(&mut weft_build(&repo().join("tests/go/nats"), &bin, modfile));

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut cmd = Command::new(&bin);
    cmd.args([&addr, &pre])
        .env("WEFT_TEST_NATS_URL", &url);
    export_to(&mut cmd, "nats", &rx.endpoint());
    let mut proc = Proc::spawn("nats", &mut cmd, tmp.path());
    proc.wait_port(&addr);
    let bodies = get_all(&proc, &addr, &PATHS);
    let servers = |s: &[SpanRecord]| s.iter().filter(|x| x.kind == SpanKind::Server).count();
    let spans = rx.wait_for(|s| servers(s) >= PATHS.len(), Duration::from_secs(20));
    let dump = weft::receiver::render_traces(&spans, false);
    let server = |path: &str| server_span(&spans, path, &dump);
    let only_child = |parent: &SpanRecord| -> &SpanRecord {
        let c: Vec<&SpanRecord> = spans.iter().filter(|s| s.parent_span_id == parent.span_id).collect();
        assert_eq!(c.len(), 1, "children of {}:\n{dump}", parent.name);
        assert_eq!(c[0].trace_id, parent.trace_id, "{dump}");
        c[0]
    };
    // named: the subject in the span's name (a wildcard subscription's).
    let messaging = |s: &SpanRecord, kind: SpanKind, named: &str, dest: &str, size: i64| {
        let op = if kind == SpanKind::Producer { "publish" } else { "process" };
        let (name, dest) = (format!("{op} {}", subj(named)), subj(dest));
        assert_eq!((s.kind, s.name.as_str()), (kind, name.as_str()), "{dump}");
        assert_eq!(s.scope_name, "weft/github.com/nats-io/nats.go", "{dump}");
        assert_eq!(s.attr_str("messaging.system"), Some("nats"), "{name}");
        let ty = if kind == SpanKind::Producer { "send" } else { "process" };
        assert_eq!(s.attr_str("messaging.operation.name"), Some(op), "{name}");
        assert_eq!(s.attr_str("messaging.operation.type"), Some(ty), "{name}");
        assert_eq!(s.attr_str("messaging.destination.name"), Some(dest.as_str()), "{name}");
        assert_eq!(s.attr_int("messaging.message.body.size"), Some(size), "{name}");
        assert_eq!(s.attr_str("server.address"), Some("127.0.0.1"), "{name}");
        assert_eq!(s.attr_int("server.port"), Some(port), "{name}");
    };

    // HTTP → publish → process, whose publish is processed in turn.
    assert_eq!(bodies["/publish"], "audit order 1");
    let p = only_child(server("/publish"));
    messaging(p, SpanKind::Producer, "shop.orders", "shop.orders", 7);
    let c = only_child(p);
    messaging(c, SpanKind::Consumer, "shop.orders", "shop.orders", 7);
    let p2 = only_child(c);
    messaging(p2, SpanKind::Producer, "shop.audit", "shop.audit", 13);
    let c2 = only_child(p2);
    messaging(c2, SpanKind::Consumer, "shop.audit", "shop.audit", 13);
    assert!(c2.attr("messaging.consumer.group.name").is_none(), "{dump}");

    // Request with the handler's ctx; a queue group answers with Respond,
    // to an inbox: a temporary destination.
    assert_eq!(bodies["/request"], "HELLO");
    let p = only_child(server("/request"));
    messaging(p, SpanKind::Producer, "svc.upper", "svc.upper", 5);
    let c = only_child(p);
    messaging(c, SpanKind::Consumer, "svc.upper", "svc.upper", 5);
    assert_eq!(c.attr_str("messaging.consumer.group.name"), Some("workers"), "{dump}");
    let r = only_child(c);
    assert_eq!((r.kind, r.name.as_str()), (SpanKind::Producer, "publish (temporary)"), "{dump}");
    assert!(r.attr_str("messaging.destination.name").is_some_and(|d| d.starts_with("_INBOX.")), "{dump}");
    assert_eq!(r.attr("messaging.destination.temporary"), Some(&weft::receiver::AttrValue::Bool(true)), "{dump}");

    // A ctx without a span leaves the goroutine's (the request's) the parent.
    assert_eq!(bodies["/requestbg"], "AGAIN");
    let p = only_child(server("/requestbg"));
    messaging(p, SpanKind::Producer, "svc.upper", "svc.upper", 5);
    let c = only_child(p);
    assert_eq!(only_child(c).name, "publish (temporary)", "{dump}");

    // A callback on an inbox of the program's: named "(temporary)", not by
    // the inbox, which is unique.
    assert_eq!(bodies["/inbox"], "to me");
    let p = only_child(server("/inbox"));
    assert_eq!(p.name, "publish (temporary)", "{dump}");
    let c = only_child(p);
    assert_eq!((c.kind, c.name.as_str()), (SpanKind::Consumer, "process (temporary)"), "{dump}");
    assert_eq!(c.attr("messaging.destination.temporary"), Some(&weft::receiver::AttrValue::Bool(true)), "{dump}");

    // The program's header kept; the traceparent names the publish span.
    let p = only_child(server("/headers"));
    messaging(p, SpanKind::Producer, "shop.hdr", "shop.hdr", 12);
    let want = format!("traceparent=00-{}-{}-01\nx-key=kept", p.trace_id, p.span_id);
    assert_eq!(bodies["/headers"], want, "{dump}");
    // A traceparent of the program's own is left alone.
    assert_eq!(bodies["/own"], "traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    only_child(server("/own"));
    // No room under max_payload: sent as it was, no headers, no error.
    assert_eq!(bodies["/big"], "ok ", "{dump}");
    let p = only_child(server("/big"));
    assert_eq!((p.name.clone(), p.status_code), (format!("publish {}", subj("shop.hdr")), StatusCode::Unset), "{dump}");

    // A wildcard subscription: named by its subject, the message's own kept.
    let p = only_child(server("/wild"));
    messaging(p, SpanKind::Producer, "shop.events.created", "shop.events.created", 2);
    let c = only_child(p);
    messaging(c, SpanKind::Consumer, "shop.events.*", "shop.events.created", 2);
    assert_eq!(c.attr_str("messaging.destination.template"), Some(subj("shop.events.*").as_str()), "{dump}");

    // JetStream: the stored message's consumer is the publisher's child,
    // named by the stream subject, not the deliver inbox; the API calls,
    // the publish ack and the consumer's ack make no spans.
    let p = only_child(server("/js"));
    messaging(p, SpanKind::Producer, "js.orders.new", "js.orders.new", 12);
    let c = only_child(p);
    messaging(c, SpanKind::Consumer, "js.orders.new", "js.orders.new", 12);
    assert!(spans.iter().all(|s| !s.name.contains('$')), "{dump}");

    // Publishing on a closed connection fails as it does without weft.
    assert_eq!(bodies["/closed"], "\"nats: connection closed\"\n");
    let p = only_child(server("/closed"));
    assert_eq!((p.name.clone(), p.status_code), (format!("publish {}", subj("shop.orders")), StatusCode::Error), "{dump}");
    assert_eq!(p.attr_str("error.type"), Some("nats: connection closed"), "{dump}");

    // A subscription made while packages initialize, before weft/rt is.
    assert_eq!(bodies["/early"], "early");
    let p = only_child(server("/early"));
    messaging(p, SpanKind::Producer, "shop.early", "shop.early", 5);
    messaging(only_child(p), SpanKind::Consumer, "shop.early", "shop.early", 5);

    // Nothing else: every span is one of the above.
    assert_eq!(spans.len(), 11 + 4 + 3 + 3 + 2 + 1 + 1 + 1 + 2 + 2 + 1 + 2, "{dump}");
}

/// nats.go v1.55.0.
#[test]
fn nats_newest_version() {
    nats_spans(None);
}

/// nats.go v1.47.0.
#[test]
fn nats_middle_version() {
    nats_spans(Some("middle.mod"));
}

/// nats.go v1.11.0, the first with headers.
#[test]
fn nats_oldest_version() {
    nats_spans(Some("oldest.mod"));
}
