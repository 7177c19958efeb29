//! RabbitMQ through rabbitmq/amqp091-go end to end: tests/go/amqp is a
//! net/http server whose handlers publish to a real RabbitMQ broker
//! (tests/services/rabbitmq.sh) and wait for the goroutines ranging over
//! Consume's deliveries; the consumer calls a downstream HTTP server per
//! delivery. Built with the newest amqp091-go (go.mod) and the oldest the
//! rules cover, v1.5.0 (oldest.mod). Each publish is a producer span under
//! the request's ctx or the goroutine's span, its trace context in a copy of
//! the message headers (the caller's Table unchanged); each delivery is a
//! consumer span, child of its producer's, and what the consumer does next
//! is its child; a program's own traceparent is kept; a publish on a closed
//! channel is an error; each Get is a client span; a server-named queue
//! stays out of span names.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;
use weft::receiver::{AttrValue, Receiver, SpanKind, SpanRecord, StatusCode};

fn amqp_url() -> String {
    std::env::var("WEFT_TEST_AMQP_URL").unwrap_or_else(|_| {
        panic!("WEFT_TEST_AMQP_URL is not set: start RabbitMQ with `tests/services/rabbitmq.sh start && eval \"$(tests/services/rabbitmq.sh env)\"` or run tests/run.sh")
    })
}

const PATHS: [&str; 7] = ["/publish", "/default", "/own", "/closed", "/get", "/anon", "/stop"];

fn amqp_spans(modfile: Option<&str>) {
    let url = amqp_url();
    // Exchange and queues of this run's own: the tests share the broker.
    let pre = unique("weft-amqp-");
    let (exchange, queue, dqueue, gqueue) = (format!("{pre}-ex"), format!("{pre}-q"), format!("{pre}-dq"), format!("{pre}-gq"));
    let hostport = url.trim_end_matches('/').rsplit_once('@').map(|(_, h)| h.to_string()).expect("user@host:port in WEFT_TEST_AMQP_URL");
    let (host, port) = hostport.rsplit_once(':').expect("a port in WEFT_TEST_AMQP_URL");
    let port: i64 = port.parse().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("amqp");
    build_clean(&mut weft_build(&repo().join("tests/go/amqp"), &bin, modfile));

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let [addr, down] = [0; 2].map(|_| format!("127.0.0.1:{}", free_port()));
    let mut cmd = Command::new(&bin);
    cmd.args([&addr, &down, &pre])
        .env("WEFT_TEST_AMQP_URL", &url);
    export_to(&mut cmd, "amqp", &rx.endpoint());
    let mut proc = Proc::spawn("amqp", &mut cmd, tmp.path());
    proc.wait_port(&addr);
    let bodies = get_all(&proc, &addr, &PATHS);
    let consumers = |s: &[SpanRecord]| s.iter().filter(|x| x.kind == SpanKind::Consumer).count();
    let servers = |s: &[SpanRecord]| s.iter().filter(|x| x.kind == SpanKind::Server).count();
    let spans = rx.wait_for(|s| consumers(s) >= 3 && servers(s) >= PATHS.len(), Duration::from_secs(20));
    let dump = weft::receiver::render_traces(&spans, false);
    let server = |path: &str| server_span(&spans, path, &dump);
    let children = |parent: &SpanRecord| -> Vec<&SpanRecord> {
        let mut c: Vec<&SpanRecord> = spans.iter().filter(|s| s.parent_span_id == parent.span_id).collect();
        assert!(c.iter().all(|s| s.trace_id == parent.trace_id), "{dump}");
        c.sort_by_key(|s| s.start_unix_nano);
        c
    };
    // kind, span name, messaging.destination.name, routing key, body size.
    let amqp = |s: &SpanRecord, kind: SpanKind, name: &str, dest: &str, key: Option<&str>, size: Option<i64>| {
        let (op, ty) = match kind {
            SpanKind::Producer => ("publish", "send"),
            SpanKind::Consumer => ("process", "process"),
            _ => ("receive", "receive"),
        };
        assert_eq!((s.kind, s.name.as_str()), (kind, format!("{op} {name}").as_str()), "{dump}");
        assert_eq!(s.scope_name, "weft/github.com/rabbitmq/amqp091-go", "{dump}");
        assert_eq!(s.attr_str("messaging.system"), Some("rabbitmq"), "{}", s.name);
        assert_eq!((s.attr_str("messaging.operation.name"), s.attr_str("messaging.operation.type")), (Some(op), Some(ty)), "{}", s.name);
        assert_eq!(s.attr_str("messaging.destination.name"), Some(dest), "{}", s.name);
        assert_eq!(s.attr_str("messaging.rabbitmq.destination.routing_key"), key, "{}", s.name);
        assert_eq!((s.attr_str("server.address"), s.attr_int("server.port")), (Some(host), Some(port)), "{}", s.name);
        assert_eq!(s.attr_int("messaging.message.body.size"), size, "{}", s.name);
        let anon = dest.starts_with("amq.gen-").then_some(&AttrValue::Bool(true));
        assert_eq!(s.attr("messaging.destination.anonymous"), anon, "{}", s.name);
        if kind != SpanKind::Producer && size.is_some() {
            assert!(s.attr_int("messaging.rabbitmq.message.delivery_tag").is_some_and(|t| t > 0), "{dump}");
        }
    };
    // A consumer span's one child: its call downstream.
    let downstream = |s: &SpanRecord| {
        assert_eq!(s.status_code, StatusCode::Unset, "{dump}");
        let c = children(s);
        assert_eq!(c.len(), 1, "{dump}");
        assert_eq!((c[0].kind, c[0].name.as_str()), (SpanKind::Client, "GET"), "{dump}");
    };
    let routed = format!("{exchange}:order.created");

    // PublishWithContext under the request's ctx, to a named exchange.
    let p = children(server("/publish"));
    assert_eq!(p.len(), 1, "{dump}");
    amqp(p[0], SpanKind::Producer, &routed, &routed, Some("order.created"), Some(7));
    assert_eq!(p[0].status_code, StatusCode::Unset, "{dump}");
    assert_eq!((p[0].attr_str("messaging.message.id"), p[0].attr_str("messaging.message.conversation_id")), (Some("m-1"), Some("c-1")), "{dump}");
    let c = children(p[0]);
    assert_eq!(c.len(), 1, "{dump}");
    let full = format!("{routed}:{queue}");
    amqp(c[0], SpanKind::Consumer, &full, &full, Some("order.created"), Some(7));
    assert_eq!(c[0].attr_str("messaging.message.id"), Some("m-1"), "{dump}");
    downstream(c[0]);
    let tp = format!("traceparent=00-{}-{}-01", p[0].trace_id, p[0].span_id);
    // The caller's Table is left as it was; the delivery has both.
    assert_eq!(bodies["/publish"], format!("caller's table: x-key=kept\norder 1\n{tp}\nx-key=kept\n"));

    // Publish without ctx, under the handler's span, to the default
    // exchange: the destination is the routing key (the queue).
    let p = children(server("/default"));
    assert_eq!(p.len(), 1, "{dump}");
    amqp(p[0], SpanKind::Producer, &dqueue, &dqueue, Some(&dqueue), Some(7));
    let c = children(p[0]);
    assert_eq!(c.len(), 1, "{dump}");
    amqp(c[0], SpanKind::Consumer, &dqueue, &dqueue, Some(&dqueue), Some(7));
    downstream(c[0]);
    assert_eq!(bodies["/default"], format!("default\ntraceparent=00-{}-{}-01\n", p[0].trace_id, p[0].span_id));

    // The program's own traceparent is kept (a Background ctx leaves the
    // handler's span the parent), and the consumer continues it; its span
    // ended when the consumer was cancelled.
    let p = children(server("/own"));
    assert_eq!(p.len(), 1, "{dump}");
    amqp(p[0], SpanKind::Producer, &routed, &routed, Some("order.created"), Some(3));
    assert!(children(p[0]).is_empty(), "{dump}");
    assert_eq!(bodies["/own"], "own\ntraceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n");
    let c = spans.iter().find(|s| s.parent_span_id == "b7ad6b7169203331").unwrap_or_else(|| panic!("{dump}"));
    assert_eq!(c.trace_id, "0af7651916cd43dd8448eb211c80319c");
    amqp(c, SpanKind::Consumer, &full, &full, Some("order.created"), Some(3));
    downstream(c);

    // A publish on a closed channel.
    let p = children(server("/closed"));
    assert_eq!(p.len(), 1, "{dump}");
    amqp(p[0], SpanKind::Producer, &routed, &routed, Some("order.created"), Some(4));
    assert_eq!((p[0].status_code, p[0].attr_str("error.type")), (StatusCode::Error, Some("channel-error")), "{dump}");
    assert!(bodies["/closed"].starts_with("error: Exception (504)"), "{}", bodies["/closed"]);

    // Get: a client span each, the first with the message, the second
    // finding the queue empty.
    let g = children(server("/get"));
    assert_eq!(g.len(), 3, "{dump}");
    amqp(g[0], SpanKind::Producer, &gqueue, &gqueue, Some(&gqueue), Some(3));
    amqp(g[1], SpanKind::Client, &gqueue, &gqueue, Some(&gqueue), Some(3));
    assert_eq!(g[1].attr_str("messaging.message.id"), Some("m-2"), "{dump}");
    amqp(g[2], SpanKind::Client, &gqueue, &gqueue, None, None);
    assert!(g.iter().all(|s| s.status_code == StatusCode::Unset && children(s).is_empty()), "{dump}");
    assert_eq!(bodies["/get"], "get 0: true got\nget 1: false \n");

    // A server-named queue stays out of the span name: the default
    // exchange names it.
    let a = children(server("/anon"));
    assert_eq!(a.len(), 2, "{dump}");
    let q = a[0].attr_str("messaging.destination.name").unwrap_or_else(|| panic!("{dump}")).to_string();
    assert!(q.starts_with("amq.gen-"), "{dump}");
    amqp(a[0], SpanKind::Producer, "amq.default", &q, Some(&q), Some(4));
    amqp(a[1], SpanKind::Client, "amq.default", &q, Some(&q), Some(4));
    assert_eq!(bodies["/anon"], "amq.gen: true anon\n");

    // Declarations, binds, Consume, Cancel and Close make no spans.
    assert_eq!(spans.iter().filter(|s| s.scope_name.contains("amqp091")).count(), 5 + 3 + 2 + 2, "{dump}");
}

/// amqp091-go v1.16.0.
#[test]
fn amqp091_newest_version() {
    amqp_spans(None);
}

/// amqp091-go v1.5.0.
#[test]
fn amqp091_oldest_version() {
    amqp_spans(Some("oldest.mod"));
}
