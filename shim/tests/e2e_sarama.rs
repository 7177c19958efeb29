//! Kafka through sarama end to end: tests/go/sarama is a net/http server
//! whose handlers send to a real Kafka broker (tests/services/kafka.sh)
//! through a SyncProducer and an AsyncProducer's Input, and consumes what
//! they send twice: in a consumer group whose handler receives in a select,
//! and with a partition consumer ranging over its channel. sarama hands
//! messages over channels, so this also tests the woven runtime's channel
//! hooks. Each message sent is a producer span under the handler's, ended
//! when sarama returns it; each message received is a consumer span, child
//! of its producer's through the headers, and what the consumer does next
//! is its child; the program's own headers and traceparent are kept.
//! Built with IBM/sarama v1.61.1 (go.mod) and v1.40.1 (oldest.mod), and
//! its old path Shopify/sarama v1.27.0 (shopify.mod, -tags shopify).

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord, StatusCode};

fn kafka_addr() -> String {
    std::env::var("WEFT_TEST_KAFKA_ADDR").unwrap_or_else(|_| {
        panic!("WEFT_TEST_KAFKA_ADDR is not set: start Kafka with `tests/services/kafka.sh start && eval \"$(tests/services/kafka.sh env)\"` or run tests/run.sh")
    })
}

fn sarama_spans(modfile: Option<&str>, shopify: bool, label: &str) {
    sarama_spans_with(modfile, shopify, label, false)
}

/// `b3`: the program runs with OTEL_PROPAGATORS=b3, so the trace context
/// travels in a `b3` header.
fn sarama_spans_with(modfile: Option<&str>, shopify: bool, label: &str, b3: bool) {
    let broker = kafka_addr();
    // A topic (and group) of this run's own: the broker outlives runs.
    let topic = &unique(&format!("weft-sarama-{label}-"));
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("sarama");
    let mut args = vec!["build".to_string()];
    args.extend(modfile.map(|m| format!("-modfile={m}")));
    if shopify {
        args.push("-tags=shopify".into());
    }
    args.extend(["-o".into(), bin.to_str().unwrap().into(), ".".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    build_clean(&mut weft_go(&repo().join("tests/go/sarama"), &args));

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let [addr, down] = [0; 2].map(|_| format!("127.0.0.1:{}", free_port()));
    let mut cmd = Command::new(&bin);
    cmd.args([&addr, &down, topic])
        .env("WEFT_TEST_KAFKA_ADDR", &broker);
    export_to(&mut cmd, "sarama", &rx.endpoint());
    if b3 {
        cmd.env("OTEL_PROPAGATORS", "b3");
    }
    let mut proc = Proc::spawn("sarama", &mut cmd, tmp.path());
    proc.wait_port(&addr);
    let bodies = get_all(&proc, &addr, &["/sync", "/async", "/own", "/stop"]);
    let consumers = |s: &[SpanRecord]| s.iter().filter(|x| x.kind == SpanKind::Consumer).count();
    let spans = rx.wait_for(|s| consumers(s) >= 6 && s.iter().any(|x| x.attr_str("url.path") == Some("/stop")), Duration::from_secs(20));
    let dump = weft::receiver::render_traces(&spans, false);
    let server = |path: &str| server_span(&spans, path, &dump);
    let children = |parent_id: &str| -> Vec<&SpanRecord> { spans.iter().filter(|s| s.parent_span_id == parent_id).collect() };
    let (host, port) = broker.rsplit_once(':').unwrap();
    let port: i64 = port.parse().unwrap();
    let scope = if shopify { "weft/github.com/Shopify/sarama" } else { "weft/github.com/IBM/sarama" };
    let kafka = |s: &SpanRecord, kind: SpanKind| {
        assert_eq!(s.kind, kind, "{dump}");
        assert_eq!(s.scope_name, scope, "{dump}");
        assert_eq!(s.attr_str("messaging.system"), Some("kafka"), "{}", s.name);
        assert_eq!(s.attr_str("messaging.destination.name"), Some(topic.as_str()), "{}", s.name);
        assert_eq!(s.attr_str("messaging.destination.partition.id"), Some("0"), "{}", s.name);
        assert!(s.attr_int("messaging.kafka.offset").is_some(), "{dump}");
        assert_eq!((s.attr_str("server.address"), s.attr_int("server.port")), (Some(host), Some(port)), "{}", s.name);
        assert_eq!(s.status_code, StatusCode::Unset, "{}", s.name);
        let op = if kind == SpanKind::Producer { "send" } else { "process" };
        assert_eq!((s.attr_str("messaging.operation.name"), s.attr_str("messaging.operation.type")), (Some(op), Some(op)), "{}", s.name);
        assert_eq!(s.name, format!("{op} {topic}"), "{dump}");
    };
    // The message's two consumer spans (the group's, the partition
    // consumer's), each with its call downstream as its child.
    let consumed = |parent_id: &str, body: &str| {
        let c = children(parent_id);
        assert_eq!(c.len(), 2, "{dump}");
        for s in &c {
            kafka(s, SpanKind::Consumer);
            assert_eq!(s.attr_int("messaging.message.body.size"), Some(body.len() as i64), "{dump}");
            let calls = children(&s.span_id);
            assert_eq!(calls.len(), 1, "{dump}");
            assert_eq!((calls[0].kind, calls[0].name.as_str()), (SpanKind::Client, "GET"), "{dump}");
        }
        let groups: Vec<_> = c.iter().map(|s| s.attr_str("messaging.consumer.group.name")).collect();
        let group = format!("weft-{topic}");
        assert!(groups.contains(&Some(group.as_str())) && groups.contains(&None), "{groups:?}\n{dump}");
        c
    };
    let sent = |path: &str| -> &SpanRecord {
        let c = children(&server(path).span_id);
        assert_eq!(c.len(), 1, "{dump}");
        kafka(c[0], SpanKind::Producer);
        c[0]
    };

    let sync = sent("/sync");
    assert_eq!(sync.attr_str("messaging.kafka.message.key"), Some("k1"), "{dump}");
    assert_eq!(sync.attr_int("messaging.message.body.size"), Some(7), "{dump}");
    consumed(&sync.span_id, "order 1");
    let header = |s: &SpanRecord| match b3 {
        true => format!("b3={}-{}-1", s.trace_id, s.span_id),
        false => format!("traceparent=00-{}-{}-01", s.trace_id, s.span_id),
    };
    assert_eq!(bodies["/sync"], format!("order 1\n{}\n", header(sync)));

    let sent_async = sent("/async");
    consumed(&sent_async.span_id, "order 2");
    assert_eq!(bodies["/async"], format!("order 2\n{}\nx-key=kept\n", header(sent_async)));
    if b3 {
        return; // the program's own traceparent is W3C's
    }

    // The program's own traceparent is left alone, and the consumers
    // continue it.
    let own = sent("/own");
    assert!(children(&own.span_id).is_empty(), "{dump}");
    assert_eq!(bodies["/own"], "own\ntraceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n");
    for c in consumed("b7ad6b7169203331", "own") {
        assert_eq!(c.trace_id, "0af7651916cd43dd8448eb211c80319c");
    }

    // The group's and the producers' own traffic makes no spans.
    assert_eq!(spans.iter().filter(|s| s.scope_name == scope).count(), 3 + 6, "{dump}");
}

/// IBM/sarama v1.61.1.
#[test]
fn sarama_newest_version() {
    sarama_spans(None, false, "newest");
}

/// IBM/sarama v1.40.1.
#[test]
fn sarama_oldest_version() {
    sarama_spans(Some("oldest.mod"), false, "oldest");
}

/// Shopify/sarama v1.27.0.
#[test]
fn sarama_shopify_oldest_version() {
    sarama_spans(Some("shopify.mod"), true, "shopify");
}

/// IBM/sarama v1.61.1 with OTEL_PROPAGATORS=b3: the `b3` header goes out
/// with each message and the consumers continue it.
#[test]
fn sarama_b3_headers() {
    sarama_spans_with(None, false, "b3", true);
}
