//! Kafka through segmentio/kafka-go end to end: tests/go/kafkago is a
//! net/http server whose handlers write to a real Kafka broker
//! (tests/services/kafka.sh) and wait for a Reader in a consumer group to
//! read what they wrote; the consumer calls a downstream HTTP server per
//! message. Built with the newest kafka-go (go.mod) and the oldest the rule
//! covers, v0.4.10 (oldest.mod). Each WriteMessages call is a producer span
//! under the handler's; each message read is a consumer span, child of its
//! producer's through the message headers, and what the consumer does next
//! is its child; the program's own headers and its own traceparent are
//! kept.

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

fn kafka_spans(modfile: Option<&str>, label: &str) {
    let broker = kafka_addr();
    // A topic (and group) of this run's own: the broker outlives runs.
    let topic = &unique(&format!("weft-{label}-"));
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("kafkago");
    build_clean(&mut weft_build(&repo().join("tests/go/kafkago"), &bin, modfile));

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let [addr, down] = [0; 2].map(|_| format!("127.0.0.1:{}", free_port()));
    let mut cmd = Command::new(&bin);
    cmd.args([&addr, &down, topic])
        .env("WEFT_TEST_KAFKA_ADDR", &broker);
    export_to(&mut cmd, "kafkago", &rx.endpoint());
    let mut proc = Proc::spawn("kafkago", &mut cmd, tmp.path());
    proc.wait_port(&addr);
    let bodies = get_all(&proc, &addr, &["/send", "/batch", "/own", "/stop"]);
    let consumers = |s: &[SpanRecord]| s.iter().filter(|x| x.kind == SpanKind::Consumer).count();
    let spans = rx.wait_for(|s| consumers(s) >= 4 && s.iter().any(|x| x.attr_str("url.path") == Some("/stop")), Duration::from_secs(20));
    let dump = weft::receiver::render_traces(&spans, false);
    let server = |path: &str| server_span(&spans, path, &dump);
    let children = |parent: &SpanRecord| -> Vec<&SpanRecord> {
        let c: Vec<&SpanRecord> = spans.iter().filter(|s| s.parent_span_id == parent.span_id).collect();
        assert!(c.iter().all(|s| s.trace_id == parent.trace_id), "{dump}");
        c
    };
    let (host, port) = broker.rsplit_once(':').unwrap();
    let port: i64 = port.parse().unwrap();
    let kafka = |s: &SpanRecord, kind: SpanKind| {
        assert_eq!(s.kind, kind, "{dump}");
        assert_eq!(s.scope_name, "weft/github.com/segmentio/kafka-go", "{dump}");
        assert_eq!(s.attr_str("messaging.system"), Some("kafka"), "{}", s.name);
        assert_eq!(s.attr_str("messaging.destination.name"), Some(topic.as_str()), "{}", s.name);
        assert_eq!((s.attr_str("server.address"), s.attr_int("server.port")), (Some(host), Some(port)), "{}", s.name);
        assert_eq!(s.status_code, StatusCode::Unset, "{}", s.name);
        let op = if kind == SpanKind::Producer { "send" } else { "process" };
        assert_eq!((s.attr_str("messaging.operation.name"), s.attr_str("messaging.operation.type")), (Some(op), Some(op)), "{}", s.name);
        assert_eq!(s.name, format!("{op} {topic}"), "{dump}");
    };
    // The consumer: its message's attributes, and its call downstream.
    let consumer = |s: &SpanRecord, body: &str| {
        kafka(s, SpanKind::Consumer);
        assert_eq!(s.attr_str("messaging.consumer.group.name"), Some(format!("weft-{topic}").as_str()), "{dump}");
        assert_eq!(s.attr_str("messaging.destination.partition.id"), Some("0"), "{dump}");
        assert!(s.attr_int("messaging.kafka.offset").is_some(), "{dump}");
        assert_eq!(s.attr_int("messaging.message.body.size"), Some(body.len() as i64), "{dump}");
        let c = children(s);
        assert_eq!(c.len(), 1, "{dump}");
        assert_eq!((c[0].kind, c[0].name.as_str()), (SpanKind::Client, "GET"), "{dump}");
    };

    let send = children(server("/send"));
    assert_eq!(send.len(), 1, "{dump}");
    kafka(send[0], SpanKind::Producer);
    assert_eq!(send[0].attr_int("messaging.message.body.size"), Some(7), "{dump}");
    assert_eq!(send[0].attr_str("messaging.kafka.message.key"), Some("k1"), "{dump}");
    let got = children(send[0]);
    assert_eq!(got.len(), 1, "{dump}");
    consumer(got[0], "order 1");
    assert_eq!(got[0].attr_str("messaging.kafka.message.key"), Some("k1"), "{dump}");
    assert_eq!(bodies["/send"], format!("order 1\ntraceparent=00-{}-{}-01\n", send[0].trace_id, send[0].span_id));

    // One span for the batch; each message its consumer span.
    let batch = children(server("/batch"));
    assert_eq!(batch.len(), 1, "{dump}");
    kafka(batch[0], SpanKind::Producer);
    assert_eq!(batch[0].attr_int("messaging.batch.message_count"), Some(2), "{dump}");
    let got = children(batch[0]);
    assert_eq!(got.len(), 2, "{dump}");
    consumer(got[0], "batch 1");
    consumer(got[1], "batch 2");
    let tp = format!("traceparent=00-{}-{}-01", batch[0].trace_id, batch[0].span_id);
    assert_eq!(bodies["/batch"], format!("batch 1\n{tp}\nx-key=kept\nbatch 2\n{tp}\n"));

    // The program's own traceparent is left alone, and the consumer
    // continues it.
    let own = children(server("/own"));
    assert_eq!(own.len(), 1, "{dump}");
    assert!(children(own[0]).is_empty(), "{dump}");
    assert_eq!(bodies["/own"], "own\ntraceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n");
    let c = spans.iter().find(|s| s.parent_span_id == "b7ad6b7169203331").unwrap_or_else(|| panic!("{dump}"));
    consumer(c, "own");
    assert_eq!(c.trace_id, "0af7651916cd43dd8448eb211c80319c");

    // The Reader's group, commit and fetch traffic makes no spans.
    assert_eq!(spans.iter().filter(|s| s.scope_name.contains("kafka")).count(), 3 + 4, "{dump}");
}

/// kafka-go v0.4.51.
#[test]
fn kafka_go_newest_version() {
    kafka_spans(None, "newest");
}

/// kafka-go v0.4.10.
#[test]
fn kafka_go_oldest_version() {
    kafka_spans(Some("oldest.mod"), "oldest");
}
