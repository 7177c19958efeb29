//! MongoDB through the official Go driver end to end: tests/go/mongo is a
//! net/http server whose handlers talk to a MongoDB-protocol server
//! (tests/services/mongo.sh, FerretDB) through driver v1 (the newest, and
//! the oldest the rule covers, v1.1.0) or v2. Every command is a client
//! span under the handler's: named after the command and its collection,
//! a cursor's getMores included, a write error and a failed command marked
//! as errors, the goroutine's span the parent when the call's ctx has none.
//! The program's own command monitor still sees every command.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;
use weft::receiver::{Receiver, SpanKind, SpanRecord, StatusCode};

fn mongo_uri() -> String {
    std::env::var("WEFT_TEST_MONGO_URI").unwrap_or_else(|_| {
        panic!("WEFT_TEST_MONGO_URI is not set: start the server with `tests/services/mongo.sh start && eval \"$(tests/services/mongo.sh env)\"` or run tests/run.sh")
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Driver {
    V1,
    V1Oldest,
    V2,
}

fn mongo_spans(driver: Driver) {
    let uri = mongo_uri();
    // A database of this run's own: the server outlives runs.
    let db = unique("weft_");
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("mongo");
    let dir = repo().join("tests/go/mongo");
    build_clean(&mut match driver {
        Driver::V1 => weft_build(&dir, &bin, None),
        Driver::V1Oldest => weft_build(&dir, &bin, Some("oldest.mod")),
        Driver::V2 => weft_go(&dir, &["build", "-tags=mongov2", "-o", bin.to_str().unwrap(), "."]),
    });

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut cmd = Command::new(&bin);
    cmd.args([&addr, &uri, &db]);
    export_to(&mut cmd, "mongo", &rx.endpoint());
    let mut proc = Proc::spawn("mongo", &mut cmd, tmp.path());
    proc.wait_port(&addr);
    let bodies = get_all(&proc, &addr, &["/insert", "/cursor", "/dup", "/fail", "/getlog", "/ctxless", "/events"]);
    assert_eq!(bodies["/insert"], "apple\n");
    assert_eq!(bodies["/cursor"], "read 5\n");
    assert_eq!(bodies["/dup"], "duplicate refused: true\n");
    assert_eq!(bodies["/fail"], "failed: true\n");

    let spans = rx.wait_for(|s| s.iter().any(|x| x.attr_str("url.path") == Some("/events")), Duration::from_secs(20));
    let dump = weft::receiver::render_traces(&spans, false);
    let children = |path: &str| -> Vec<&SpanRecord> {
        let server = spans
            .iter()
            .find(|s| s.kind == SpanKind::Server && s.attr_str("url.path") == Some(path))
            .unwrap_or_else(|| panic!("no server span for {path}:\n{dump}"));
        let c: Vec<&SpanRecord> = spans.iter().filter(|s| s.parent_span_id == server.span_id).collect();
        assert!(c.iter().all(|s| s.trace_id == server.trace_id), "{dump}");
        c
    };
    let (host, port) = uri.trim_start_matches("mongodb://").rsplit_once(':').unwrap();
    let port: i64 = port.parse().unwrap();
    let scope = match driver {
        Driver::V2 => "weft/go.mongodb.org/mongo-driver/v2/mongo",
        _ => "weft/go.mongodb.org/mongo-driver/mongo",
    };
    // A command's span: its name, kind and attributes.
    let command = |s: &SpanRecord, op: &str, coll: &str| {
        let name = if coll.is_empty() { format!("{op} {db}") } else { format!("{op} {coll}") };
        assert_eq!((s.name.as_str(), s.kind), (name.as_str(), SpanKind::Client), "{dump}");
        assert_eq!(s.scope_name, scope, "{dump}");
        assert_eq!(s.attr_str("db.system.name"), Some("mongodb"), "{name}");
        assert_eq!(s.attr_str("db.operation.name"), Some(op), "{name}");
        assert_eq!(s.attr_str("db.collection.name"), (!coll.is_empty()).then_some(coll), "{name}");
        assert_eq!(s.attr_str("db.namespace"), Some(db.as_str()), "{name}");
        assert_eq!((s.attr_str("server.address"), s.attr_int("server.port")), (Some(host), Some(port)), "{name}");
    };
    let ok = |s: &SpanRecord| {
        assert_eq!(s.status_code, StatusCode::Unset, "{dump}");
        assert_eq!(s.attr_str("db.response.status_code"), None, "{dump}");
    };

    let insert = children("/insert");
    assert_eq!(insert.len(), 2, "{dump}");
    command(insert[0], "insert", "items");
    command(insert[1], "find", "items");
    insert.iter().for_each(|s| ok(s));

    // Five documents two at a time: find, then a getMore per batch.
    let cursor = children("/cursor");
    assert_eq!(cursor.len(), 4, "{dump}");
    command(cursor[0], "insert", "batch");
    command(cursor[1], "find", "batch");
    command(cursor[2], "getMore", "batch");
    command(cursor[3], "getMore", "batch");
    cursor.iter().for_each(|s| ok(s));

    // A duplicate key: the command succeeds, its write error is the span's.
    let dup = children("/dup");
    assert_eq!(dup.len(), 1, "{dump}");
    command(dup[0], "insert", "items");
    assert_eq!(dup[0].status_code, StatusCode::Error, "{dump}");
    assert_eq!(dup[0].attr_str("db.response.status_code"), Some("11000"), "{dump}");
    assert_eq!(dup[0].attr_str("error.type"), Some("11000"), "{dump}");
    assert!(dup[0].status_message.contains("duplicate key"), "{dump}");

    // A command the server does not know (CommandNotFound, 59): v2's
    // failures carry the code, v1's only their text, which names it.
    let fail = children("/fail");
    assert_eq!(fail.len(), 1, "{dump}");
    command(fail[0], "weftNoSuchCommand", "");
    assert_eq!(fail[0].status_code, StatusCode::Error, "{dump}");
    let (code, typ) = match driver {
        Driver::V2 => (Some("59"), "59"),
        _ => (None, "CommandNotFound"),
    };
    assert_eq!(fail[0].attr_str("db.response.status_code"), code, "{dump}");
    assert_eq!(fail[0].attr_str("error.type"), Some(typ), "{dump}");

    // getLog's first value names a log, not a collection.
    let getlog = children("/getlog");
    assert_eq!(getlog.len(), 1, "{dump}");
    command(getlog[0], "getLog", "");
    let getlog_failed = bodies["/getlog"] == "getLog failed: true\n";
    assert_eq!(getlog[0].status_code == StatusCode::Error, getlog_failed, "{dump}");

    let ctxless = children("/ctxless");
    assert_eq!(ctxless.len(), 1, "{dump}");
    command(ctxless[0], "find", "items");

    // Every command made one span, and the program's monitor saw each.
    let traced = spans.iter().filter(|s| s.scope_name == scope).count();
    assert_eq!(traced, 10, "{dump}");
    let failed = if getlog_failed { 2 } else { 1 };
    assert_eq!(bodies["/events"], format!("started=10 succeeded={} failed={failed}\n", 10 - failed), "{dump}");
}

/// Driver v1.17.10.
#[test]
fn mongo_driver_v1_newest_version() {
    mongo_spans(Driver::V1);
}

/// Driver v1.1.0.
#[test]
fn mongo_driver_v1_oldest_version() {
    mongo_spans(Driver::V1Oldest);
}

/// Driver v2.10.0.
#[test]
fn mongo_driver_v2() {
    mongo_spans(Driver::V2);
}
