//! The engine on hand-made event sequences.
use super::*;
use crate::events::raw::*;
use crate::events::test_record;

/// An event as the probes would write it (the record is leaked: tests only).
fn ev(kind: u32, goid: u64, t: u64, num: [u64; 4], strs: &[&[u8]], raw: &[u8]) -> Event<'static> {
    Event::parse(Vec::leak(test_record(kind, goid, t, num, strs, raw))).unwrap()
}

fn small(kind: u32, goid: u64, t: u64, a: u64, b: u64, c: u64) -> Event<'static> {
    ev(kind, goid, t, [a, b, c, 0], &[], b"")
}

fn engine() -> Engine {
    let mut n = 0u128;
    Engine::new(
        1_000,
        "mysql",
        Box::new(|itab| (itab == 0x77).then(|| "*net.OpError".to_string())),
        Box::new(move || {
            n += 1;
            n
        }),
    )
}

#[test]
fn request_with_query_and_ctxless_child_call() {
    let mut en = engine();
    let raw = b"GET /items/1?k=v HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/8\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n";
    en.handle(&small(weft_kind_WEFT_GO_START, 1, 1, 1, 5, 0x1000));
    en.handle(&ev(weft_kind_WEFT_SQL_OPEN_START, 1, 2, [0; 4], &[b"mysql"], b"u:p@tcp(db:3307)/shop"));
    en.handle(&ev(weft_kind_WEFT_SQL_OPEN_END, 1, 3, [0xdb, 0, 0, 0], &[], b""));
    en.handle(&ev(
        weft_kind_WEFT_HTTP_SERVER_START,
        5,
        10,
        [1, 1, 0, 0],
        &[b"GET", b"/items/1", b"k=v", b"localhost:8080", b"127.0.0.1:5555"],
        raw,
    ));
    en.handle(&ev(weft_kind_WEFT_SQL_START, 5, 11, [0xdb, 1, 0, 0], &[], b"SELECT name FROM items WHERE id = 7"));
    en.handle(&ev(weft_kind_WEFT_SQL_END, 5, 12, [0; 4], &[], b""));
    en.handle(&small(weft_kind_WEFT_GO_START, 5, 13, 5, 8, 0x8000));
    en.handle(&ev(weft_kind_WEFT_HTTP_CLIENT_START, 8, 14, [0; 4], &[b"GET", b"http", b"127.0.0.1:8080", b"/ping", b"", b"127.0.0.1:8080"], b""));
    en.handle(&ev(weft_kind_WEFT_HTTP_CLIENT_END, 8, 15, [200, 1, 1, 0], &[], b""));
    en.handle(&ev(weft_kind_WEFT_HTTP_SERVER_END, 5, 20, [0, 0, 0, 0], &[b"GET /items/{id}"], b""));
    let spans = en.take();
    assert_eq!(spans.len(), 3);
    let (sql, client, server) = (&spans[0], &spans[1], &spans[2]);

    assert_eq!(server.name, "GET /items/{id}");
    assert_eq!(hex::encode(server.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(server.parent_span_id.map(hex::encode).as_deref(), Some("b7ad6b7169203331"));
    assert_eq!(server.attr("http.route"), Some(&Value::Str("/items/{id}".into())));
    assert_eq!(server.attr("http.response.status_code"), Some(&Value::Int(200)));
    assert_eq!(server.attr("url.query"), Some(&Value::Str("k=REDACTED".into())));
    assert_eq!(server.attr("server.port"), Some(&Value::Int(8080)));
    assert_eq!(server.attr("user_agent.original"), Some(&Value::Str("curl/8".into())));
    assert_eq!(server.attr("client.address"), Some(&Value::Str("127.0.0.1".into())));
    assert_eq!((server.start_unix_nano, server.end_unix_nano), (1_010, 1_020));

    assert_eq!(sql.name, "SELECT items");
    assert_eq!(sql.parent_span_id, Some(server.span_id));
    assert_eq!(sql.attr("db.query.text"), Some(&Value::Str("SELECT name FROM items WHERE id = ?".into())));
    assert_eq!(sql.attr("db.namespace"), Some(&Value::Str("shop".into())));
    assert_eq!(sql.attr("server.port"), Some(&Value::Int(3307)));

    assert_eq!(client.name, "GET");
    assert_eq!(client.parent_span_id, Some(server.span_id), "ctx-less call in a child goroutine");
    assert_eq!(client.trace_id, server.trace_id);
    assert_eq!(client.attr("url.full"), Some(&Value::Str("http://127.0.0.1:8080/ping".into())));
    assert_eq!(client.kind, SpanKind::Client);
}

#[test]
fn errors_roots_and_unfinished() {
    let mut en = engine();
    en.handle(&ev(weft_kind_WEFT_HTTP_SERVER_START, 3, 1, [1, 1, 0, 0], &[b"BREW", b"/fail", b"", b"h", b"1.2.3.4:1"], b""));
    en.handle(&ev(weft_kind_WEFT_HTTP_SERVER_END, 3, 2, [503, 1, 0, 0], &[b""], b""));
    en.handle(&ev(weft_kind_WEFT_HTTP_CLIENT_START, 4, 3, [1, 0, 0, 0], &[b"GET", b"https", b"x.test", b"/", b"a=1", b"front.test:8080"], b""));
    en.handle(&ev(weft_kind_WEFT_HTTP_CLIENT_END, 4, 4, [0, 0, 0, 0x77], &[], b""));
    en.handle(&ev(weft_kind_WEFT_SQL_START, 4, 5, [0, 2, 0, 0], &[], b"INSERT INTO t VALUES ('secret')"));
    en.handle(&ev(weft_kind_WEFT_SQL_END, 4, 6, [0; 4], &[], b""));
    en.handle(&ev(weft_kind_WEFT_SQL_END, 9, 7, [0; 4], &[], b""));
    let spans = en.take();
    assert_eq!(spans.len(), 3);
    let server = &spans[0];
    assert_eq!(server.name, "_OTHER");
    assert_eq!(server.attr("http.request.method_original"), Some(&Value::Str("BREW".into())));
    assert_eq!(server.attr("error.type"), Some(&Value::Str("503".into())));
    assert!(server.error.is_some() && server.parent_span_id.is_none());
    let client = &spans[1];
    assert_eq!(client.attr("url.full"), Some(&Value::Str("https://REDACTED:REDACTED@x.test/?a=REDACTED".into())));
    // the host dialled, not a Host header kept from a proxy's caller
    assert_eq!(client.attr("server.address"), Some(&Value::Str("x.test".into())));
    assert_eq!(client.attr("server.port"), Some(&Value::Int(443)));
    assert_eq!(client.attr("error.type"), Some(&Value::Str("*net.OpError".into())));
    assert_ne!(client.trace_id, server.trace_id);
    assert_eq!(en.counts, Counts { spans: 3, unfinished: 0, unmatched: 0 });
    assert_eq!(en.goroutines(), 0, "goroutines with nothing open and nothing inherited are forgotten");
}

#[test]
fn sweep_forgets_dead_goroutines() {
    let mut en = engine();
    en.handle(&ev(weft_kind_WEFT_HTTP_SERVER_START, 3, 1, [1, 1, 0, 0], &[b"GET", b"/", b"", b"h", b"1.2.3.4:1"], b""));
    en.handle(&small(weft_kind_WEFT_GO_START, 3, 2, 3, 4, 0x4000));
    en.handle(&small(weft_kind_WEFT_GO_START, 3, 3, 3, 5, 0x5000));
    en.handle(&ev(weft_kind_WEFT_SQL_START, 4, 4, [0, 1, 0, 0], &[], b"SELECT 1"));
    en.handle(&ev(weft_kind_WEFT_HTTP_SERVER_END, 3, 5, [200, 1, 0, 0], &[b""], b""));
    assert_eq!(en.goroutines(), 2, "the children keep what they inherited");
    let mut asked = Vec::new();
    en.sweep(&mut |gs: &[(u64, u64)]| {
        asked.extend_from_slice(gs);
        gs.iter().map(|&(_, goid)| goid == 5).collect()
    });
    asked.sort();
    assert_eq!(asked, vec![(0x4000, 4), (0x5000, 5)]);
    assert_eq!(en.goroutines(), 1);
    assert_eq!(en.counts.unfinished, 1, "goroutine 4 died inside its query");
    // goroutine 5 still links to the request
    en.handle(&ev(weft_kind_WEFT_SQL_START, 5, 6, [0, 1, 0, 0], &[], b"SELECT 2"));
    en.handle(&ev(weft_kind_WEFT_SQL_END, 5, 7, [0; 4], &[], b""));
    let spans = en.take();
    assert_eq!(spans[1].parent_span_id, Some(spans[0].span_id));
}

#[test]
fn probe_chosen_ids_win() {
    use crate::events::Ids;
    let mut en = engine();
    let ids = |t: u8, s: u8, p: Option<u8>| Ids { trace_id: [t; 16], span_id: [s; 8], parent_id: p.map(|p| [p; 8]), flags: 1 };
    // The header block says another trace: the probes' reading is what the written traceparent used.
    let raw = b"GET /a HTTP/1.1\r\nHost: h\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n";
    let mut s = ev(weft_kind_WEFT_HTTP_SERVER_START, 5, 10, [1, 1, 0, 0], &[b"GET", b"/a", b"", b"h", b"1.2.3.4:5"], raw);
    s.ids = Some(ids(0xaa, 0x11, Some(0x22)));
    en.handle(&s);
    let mut c = ev(weft_kind_WEFT_HTTP_CLIENT_START, 5, 11, [0; 4], &[b"GET", b"http", b"x:1", b"/", b"", b""], b"");
    c.ids = Some(ids(0xaa, 0x33, None));
    en.handle(&c);
    en.handle(&ev(weft_kind_WEFT_HTTP_CLIENT_END, 5, 12, [200, 1, 1, 0], &[], b""));
    // A client span whose trace the engine does not know: a root in the probes' trace.
    let mut c2 = ev(weft_kind_WEFT_HTTP_CLIENT_START, 9, 13, [0; 4], &[b"GET", b"http", b"x:1", b"/", b"", b""], b"");
    c2.ids = Some(ids(0xbb, 0x44, None));
    en.handle(&c2);
    en.handle(&ev(weft_kind_WEFT_HTTP_CLIENT_END, 9, 14, [200, 1, 1, 0], &[], b""));
    en.handle(&ev(weft_kind_WEFT_HTTP_SERVER_END, 5, 20, [0; 4], &[b""], b""));
    let spans = en.take();
    let (client, root_client, server) = (&spans[0], &spans[1], &spans[2]);
    assert_eq!((server.trace_id, server.span_id, server.parent_span_id), ([0xaa; 16], [0x11; 8], Some([0x22; 8])));
    assert_eq!((client.trace_id, client.span_id, client.parent_span_id), ([0xaa; 16], [0x33; 8], Some([0x11; 8])));
    assert_eq!((root_client.trace_id, root_client.span_id, root_client.parent_span_id), ([0xbb; 16], [0x44; 8], None));
}
