//! Kafka through franz-go (github.com/twmb/franz-go/pkg/kgo) end to end:
//! tests/go/franz is a net/http server whose handlers produce to a real
//! Kafka broker (tests/services/kafka.sh) with ProduceSync under the
//! request's ctx and with Produce and a promise under context.Background()
//! (the goroutine's context is the parent), and consumes what they send
//! three times: a consumer group handing each poll to Fetches.EachRecord,
//! a second group walking a RecordIter, and a groupless consumer through
//! EachPartition and FetchTopicPartition.EachRecord. Each record produced is
//! a producer span under the handler's, ended with its promise (a record
//! over ProducerBatchMaxBytes ends it with the error); each record
//! processed is a consumer span, child of its producer's through the
//! headers, and what the consumer does next is its child; the program's own
//! headers and traceparent are kept; a record consumed and produced again
//! carries the new producer span's context, not the one it came with. Built with franz-go v1.22.3 (go.mod)
//! and v1.7.0 (oldest.mod), the oldest the rule covers.

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

const SCOPE: &str = "weft/github.com/twmb/franz-go/pkg/kgo";

fn franz_spans(modfile: Option<&str>, label: &str) {
    let broker = kafka_addr();
    // A topic (and groups) of this run's own: the broker outlives runs.
    let topic = &unique(&format!("weft-franz-{label}-"));
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("franz");
    build_clean(&mut weft_build(&repo().join("tests/go/franz"), &bin, modfile));

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let [addr, down] = [0; 2].map(|_| format!("127.0.0.1:{}", free_port()));
    let mut cmd = Command::new(&bin);
    cmd.args([&addr, &down, topic]).env("WEFT_TEST_KAFKA_ADDR", &broker);
    export_to(&mut cmd, "franz", &rx.endpoint());
    let mut proc = Proc::spawn("franz", &mut cmd, tmp.path());
    proc.wait_port(&addr);
    let bodies = get_all(&proc, &addr, &["/sync", "/async", "/own", "/fwd", "/big", "/stop"]);
    assert_eq!(bodies["/big"], "big: true\n");
    let consumers = |s: &[SpanRecord]| s.iter().filter(|x| x.kind == SpanKind::Consumer).count();
    let spans = rx.wait_for(|s| consumers(s) >= 15 && s.iter().any(|x| x.attr_str("url.path") == Some("/stop")), Duration::from_secs(20));
    let dump = weft::receiver::render_traces(&spans, false);
    let server = |path: &str| server_span(&spans, path, &dump);
    let children = |parent_id: &str| -> Vec<&SpanRecord> { spans.iter().filter(|s| s.parent_span_id == parent_id).collect() };
    let (host, port) = broker.rsplit_once(':').unwrap();
    let port: i64 = port.parse().unwrap();
    let common = |s: &SpanRecord, kind: SpanKind| {
        assert_eq!(s.kind, kind, "{dump}");
        assert_eq!(s.scope_name, SCOPE, "{dump}");
        assert_eq!(s.attr_str("messaging.system"), Some("kafka"), "{}", s.name);
        assert_eq!(s.attr_str("messaging.destination.name"), Some(topic.as_str()), "{}", s.name);
        assert_eq!((s.attr_str("server.address"), s.attr_int("server.port")), (Some(host), Some(port)), "{}", s.name);
        let op = if kind == SpanKind::Producer { "send" } else { "process" };
        assert_eq!((s.attr_str("messaging.operation.name"), s.attr_str("messaging.operation.type")), (Some(op), Some(op)), "{}", s.name);
        assert_eq!(s.name, format!("{op} {topic}"), "{dump}");
    };
    let kafka = |s: &SpanRecord, kind: SpanKind| {
        common(s, kind);
        assert_eq!(s.attr_str("messaging.destination.partition.id"), Some("0"), "{}", s.name);
        assert!(s.attr_int("messaging.kafka.offset").is_some(), "{dump}");
        assert_eq!(s.status_code, StatusCode::Unset, "{}", s.name);
    };
    // The record's three consumer spans (two groups', one groupless), each
    // with its call downstream as its child.
    let consumed = |parent_id: &str, body: &str, key: Option<&str>| {
        let c = children(parent_id);
        assert_eq!(c.len(), 3, "{dump}");
        for s in &c {
            kafka(s, SpanKind::Consumer);
            assert_eq!(s.attr_int("messaging.message.body.size"), Some(body.len() as i64), "{dump}");
            assert_eq!(s.attr_str("messaging.kafka.message.key"), key, "{dump}");
            let calls: Vec<_> = children(&s.span_id).into_iter().filter(|c| c.kind == SpanKind::Client).collect();
            assert_eq!(calls.len(), 1, "{dump}");
            assert_eq!((calls[0].kind, calls[0].name.as_str()), (SpanKind::Client, "GET"), "{dump}");
            // The callback (the call downstream) ran inside the span.
            assert!(s.start_unix_nano <= calls[0].start_unix_nano && calls[0].end_unix_nano <= s.end_unix_nano, "{dump}");
        }
        let mut groups: Vec<_> = c.iter().map(|s| s.attr_str("messaging.consumer.group.name").map(str::to_string)).collect();
        groups.sort();
        let want = [None, Some(format!("weft-{topic}-each")), Some(format!("weft-{topic}-iter"))];
        assert_eq!(groups, want, "{dump}");
        c
    };
    let sent = |path: &str| -> &SpanRecord {
        let c = children(&server(path).span_id);
        assert_eq!(c.len(), 1, "{dump}");
        assert_eq!(c[0].kind, SpanKind::Producer, "{dump}");
        c[0]
    };
    let header = |s: &SpanRecord| format!("traceparent=00-{}-{}-01", s.trace_id, s.span_id);

    let sync = sent("/sync");
    kafka(sync, SpanKind::Producer);
    assert_eq!(sync.attr_str("messaging.kafka.message.key"), Some("k1"), "{dump}");
    assert_eq!(sync.attr_int("messaging.message.body.size"), Some(7), "{dump}");
    consumed(&sync.span_id, "order 1", Some("k1"));
    assert_eq!(bodies["/sync"], format!("order 1\n{}\n", header(sync)));

    // Produce under context.Background(): the handler's span, the
    // goroutine's context, is the parent.
    let sent_async = sent("/async");
    kafka(sent_async, SpanKind::Producer);
    consumed(&sent_async.span_id, "order 2", None);
    assert_eq!(bodies["/async"], format!("order 2\n{}\nx-key=kept\n", header(sent_async)));

    // The program's own traceparent is left alone, and the consumers
    // continue it.
    let own = sent("/own");
    kafka(own, SpanKind::Producer);
    assert!(children(&own.span_id).is_empty(), "{dump}");
    assert_eq!(bodies["/own"], "own\ntraceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n");
    for c in consumed("b7ad6b7169203331", "own", None) {
        assert_eq!(c.trace_id, "0af7651916cd43dd8448eb211c80319c");
    }

    // A record consumed and produced again: a producer span under the
    // EachRecord group's consumer span, the record's trace context
    // replaced by its own, three consumer spans under it.
    let fwd = sent("/fwd");
    kafka(fwd, SpanKind::Producer);
    let each = consumed(&fwd.span_id, "fwd", None)
        .into_iter()
        .find(|s| s.attr_str("messaging.consumer.group.name") == Some(format!("weft-{topic}-each").as_str()))
        .unwrap();
    let again: Vec<_> = children(&each.span_id).into_iter().filter(|s| s.kind == SpanKind::Producer).collect();
    assert_eq!(again.len(), 1, "{dump}");
    kafka(again[0], SpanKind::Producer);
    assert_eq!(again[0].attr_int("messaging.message.body.size"), Some(5), "{dump}");
    assert_eq!(again[0].trace_id, fwd.trace_id, "{dump}");
    consumed(&again[0].span_id, "fwd 2", None);
    assert_eq!(bodies["/fwd"], format!("fwd\n{}\nfwd 2\n{}\n", header(fwd), header(again[0])));

    // A record too large: the span ends with Kafka's error.
    let big = sent("/big");
    common(big, SpanKind::Producer);
    assert_eq!(big.status_code, StatusCode::Error, "{dump}");
    assert_eq!(big.attr_str("error.type"), Some("MESSAGE_TOO_LARGE"), "{dump}");
    assert_eq!(big.attr_int("messaging.message.body.size"), Some(2 << 20), "{dump}");
    assert_eq!(big.attr_int("messaging.kafka.offset"), None, "{dump}");
    assert!(children(&big.span_id).is_empty(), "{dump}");

    // The clients' own traffic (metadata, group, topic creation) makes no
    // spans.
    assert_eq!(spans.iter().filter(|s| s.scope_name == SCOPE).count(), 6 + 15, "{dump}");
}

/// franz-go v1.22.3.
#[test]
fn franz_newest_version() {
    franz_spans(None, "newest");
}

/// franz-go v1.7.0.
#[test]
fn franz_oldest_version() {
    franz_spans(Some("oldest.mod"), "oldest");
}
