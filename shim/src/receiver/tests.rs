//! Receiver tests: real HTTP over loopback with a plain std TcpStream client,
//! requests encoded by the official opentelemetry-proto types.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use prost::Message;

use super::*;

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}
fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}
fn i(v: i64) -> any_value::Value {
    any_value::Value::IntValue(v)
}

fn pspan(id: &str, parent: &str, name: &str, kind: span::SpanKind, start: u64, end: u64) -> Span {
    Span {
        trace_id: hex::decode(TRACE).unwrap(),
        span_id: hex::decode(id).unwrap(),
        parent_span_id: hex::decode(parent).unwrap(),
        name: name.into(),
        kind: kind as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Default::default()
    }
}

fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", s(service)), kv("host.name", s("box"))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "weft/nethttp".into(),
                    version: "0.1.0".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A root server span with attributes and an error status, and a child.
fn sample() -> ExportTraceServiceRequest {
    let mut root = pspan(
        "b7ad6b7169203331",
        "",
        "GET /users",
        span::SpanKind::Server,
        T0,
        T0 + 5 * MS,
    );
    root.attributes = vec![
        kv("http.response.status_code", i(500)),
        kv("http.route", s("/users")),
    ];
    root.status = Some(Status {
        message: "boom".into(),
        code: status::StatusCode::Error as i32,
    });
    let child = pspan(
        "00f067aa0ba902b7",
        "b7ad6b7169203331",
        "SELECT",
        span::SpanKind::Client,
        T0 + MS,
        T0 + 2 * MS,
    );
    request("api", vec![root, child])
}

struct Resp {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

/// One HTTP/1.1 request over a fresh connection, read to EOF.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(body).unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let headers = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status = headers.split(' ').nth(1).unwrap().parse().unwrap();
    Resp {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn post(port: u16, path: &str, ct: &str, body: &[u8]) -> Resp {
    http(port, "POST", path, &[("Content-Type", ct)], body)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn check_sample(spans: &[SpanRecord]) {
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let root = &spans[0];
    assert_eq!(root.trace_id, TRACE);
    assert_eq!(root.span_id, "b7ad6b7169203331");
    assert_eq!(root.parent_span_id, "");
    assert!(root.is_root());
    assert_eq!(root.name, "GET /users");
    assert_eq!(root.kind, SpanKind::Server);
    assert_eq!(root.start_unix_nano, T0);
    assert_eq!(root.duration_nanos(), 5_000_000);
    assert_eq!(root.attr_int("http.response.status_code"), Some(500));
    assert_eq!(root.attr_str("http.route"), Some("/users"));
    assert_eq!(root.attr_str("http.response.status_code"), None);
    assert_eq!(root.status_code, StatusCode::Error);
    assert_eq!(root.status_message, "boom");
    assert_eq!(root.service_name, "api");
    assert_eq!(root.resource_str("host.name"), Some("box"));
    assert_eq!(root.scope_name, "weft/nethttp");
    assert_eq!(root.scope_version, "0.1.0");
    let child = &spans[1];
    assert_eq!(child.parent_span_id, "b7ad6b7169203331");
    assert_eq!(child.kind, SpanKind::Client);
    assert_eq!(child.status_code, StatusCode::Unset);
}

#[test]
fn protobuf_export_is_stored() {
    let r = Receiver::start("127.0.0.1:0").unwrap();
    assert_eq!(r.endpoint(), format!("http://127.0.0.1:{}", r.port()));
    let resp = post(
        r.port(),
        "/v1/traces",
        "application/x-protobuf",
        &sample().encode_to_vec(),
    );
    assert_eq!(resp.status, 200);
    assert!(
        resp.headers
            .to_ascii_lowercase()
            .contains("content-type: application/x-protobuf"),
        "{}",
        resp.headers
    );
    // an empty ExportTraceServiceResponse
    let decoded =
        opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse::decode(
            &resp.body[..],
        );
    assert!(decoded.unwrap().partial_success.is_none());
    check_sample(&r.spans());
    assert_eq!(
        r.stats(),
        Stats {
            accepted: 1,
            rejected: 0,
            spans: 2
        }
    );
    r.shutdown();
}

#[test]
fn gzip_export_is_stored() {
    let r = Receiver::start("127.0.0.1:0").unwrap();
    let body = gzip(&sample().encode_to_vec());
    let resp = http(
        r.port(),
        "POST",
        "/v1/traces",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "gzip"),
        ],
        &body,
    );
    assert_eq!(resp.status, 200);
    check_sample(&r.wait_for_spans(2, Duration::from_secs(5)));
    r.shutdown();
}

#[test]
fn json_export_is_stored() {
    // The OTLP JSON encoding: camelCase, hex ids, 64-bit integers as strings.
    let json = r#"{"resourceSpans":[{
        "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}},
                                  {"key":"host.name","value":{"stringValue":"box"}}]},
        "scopeSpans":[{"scope":{"name":"weft/nethttp","version":"0.1.0"},"spans":[
          {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","parentSpanId":"",
           "name":"GET /users","kind":2,
           "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000005000000",
           "attributes":[{"key":"http.response.status_code","value":{"intValue":"500"}},
                         {"key":"http.route","value":{"stringValue":"/users"}}],
           "status":{"code":2,"message":"boom"}},
          {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7",
           "parentSpanId":"b7ad6b7169203331","name":"SELECT","kind":3,
           "startTimeUnixNano":"1700000000001000000","endTimeUnixNano":"1700000000002000000"}
        ]}]}]}"#;
    let r = Receiver::start("127.0.0.1:0").unwrap();
    let resp = post(
        r.port(),
        "/v1/traces",
        "application/json; charset=utf-8",
        json.as_bytes(),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert!(resp
        .headers
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    assert_eq!(resp.body, b"{}");
    check_sample(&r.spans());
    r.shutdown();
}

#[test]
fn bad_requests_are_rejected_with_a_message() {
    let r = Receiver::start("127.0.0.1:0").unwrap();
    let p = r.port();
    // length-delimited field claiming 5 bytes with 2 present
    let resp = post(p, "/v1/traces", "application/x-protobuf", b"\x0a\x05ab");
    assert_eq!(resp.status, 400);
    assert!(String::from_utf8_lossy(&resp.body).contains("bad protobuf ExportTraceServiceRequest"));

    let resp = post(
        p,
        "/v1/traces",
        "application/json",
        b"{\"resourceSpans\": 3}",
    );
    assert_eq!(resp.status, 400);
    assert!(String::from_utf8_lossy(&resp.body).contains("bad OTLP JSON"));

    let resp = http(
        p,
        "POST",
        "/v1/traces",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "gzip"),
        ],
        b"not gzip",
    );
    assert_eq!(resp.status, 400);
    assert!(String::from_utf8_lossy(&resp.body).contains("bad gzip body"));

    let resp = post(p, "/v1/traces", "text/plain", b"hi");
    assert_eq!(resp.status, 415);
    assert!(
        String::from_utf8_lossy(&resp.body).contains("application/x-protobuf or application/json")
    );

    let resp = http(p, "POST", "/v1/traces", &[("Content-Encoding", "br")], b"x");
    assert_eq!(resp.status, 415);

    assert_eq!(post(p, "/", "application/x-protobuf", b"").status, 404);
    assert_eq!(
        post(p, "/v1/trace", "application/x-protobuf", b"").status,
        404
    );
    assert_eq!(http(p, "GET", "/v1/traces", &[], b"").status, 405);

    assert!(r.spans().is_empty());
    assert_eq!(r.stats().rejected, 8);
    r.shutdown();
}

#[test]
fn metrics_and_logs_are_accepted_and_dropped() {
    let r = Receiver::start("127.0.0.1:0").unwrap();
    for path in ["/v1/metrics", "/v1/logs"] {
        let resp = post(r.port(), path, "application/x-protobuf", b"\x0a\x00");
        assert_eq!(resp.status, 200, "{path}");
    }
    assert!(r.spans().is_empty());
    assert_eq!(
        r.stats(),
        Stats {
            accepted: 2,
            rejected: 0,
            spans: 0
        }
    );
    r.shutdown();
}

#[test]
fn wait_for_and_traces() {
    let r = Receiver::start("127.0.0.1:0").unwrap();
    // nothing arrives: returns what it has at the timeout
    let t = Instant::now();
    assert!(r
        .wait_for(|s| !s.is_empty(), Duration::from_millis(150))
        .is_empty());
    assert!(t.elapsed() >= Duration::from_millis(150));

    let port = r.port();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let mut other = pspan(
            "1111111111111111",
            "",
            "other",
            span::SpanKind::Internal,
            T0,
            T0 - 1,
        );
        other.trace_id = vec![0x11; 16];
        post(
            port,
            "/v1/traces",
            "application/x-protobuf",
            &request("b", vec![other]).encode_to_vec(),
        );
        post(
            port,
            "/v1/traces",
            "application/x-protobuf",
            &sample().encode_to_vec(),
        );
    });
    let spans = r.wait_for(
        |s| s.iter().any(|s| s.name == "SELECT"),
        Duration::from_secs(10),
    );
    assert_eq!(spans.len(), 3);
    sender.join().unwrap();

    let traces = r.traces();
    assert_eq!(
        traces.keys().collect::<Vec<_>>(),
        [TRACE, "11111111111111111111111111111111"]
    );
    let names: Vec<&str> = traces[TRACE].iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["GET /users", "SELECT"]);
    // an end before the start shows as a negative duration
    assert_eq!(
        traces["11111111111111111111111111111111"][0].duration_nanos(),
        -1
    );
    r.clear();
    assert!(r.spans().is_empty());
    r.shutdown();
}

#[test]
fn shutdown_closes_the_port() {
    let r = Receiver::start("127.0.0.1:0").unwrap();
    let port = r.port();
    r.shutdown();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    // the same port can be taken again at once
    let again = Receiver::start(&format!("127.0.0.1:{port}")).unwrap();
    assert_eq!(again.port(), port);
    let busy = Receiver::start(&format!("127.0.0.1:{port}")).err().unwrap();
    assert!(
        busy.to_string().contains("another receiver or collector"),
        "{busy}"
    );
    drop(again);
}

#[test]
fn keep_alive_connection_carries_several_exports() {
    // SDKs reuse one connection for successive exports.
    let r = Receiver::start("127.0.0.1:0").unwrap();
    let mut c = TcpStream::connect(("127.0.0.1", r.port())).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = sample().encode_to_vec();
    for n in 1..=3 {
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        c.write_all(head.as_bytes()).unwrap();
        c.write_all(&body).unwrap();
        // read one response head; the empty response has Content-Length 0
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") {
            c.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("content-length: 0"),
            "{head}"
        );
        assert_eq!(
            r.wait_for_spans(2 * n, Duration::from_secs(10)).len(),
            2 * n
        );
    }
    r.shutdown();
}

#[test]
fn view_prints_a_banner_then_traces() {
    let buf = SharedBuf::default();
    let opts = PrintOptions {
        quiet: Duration::from_secs(60),
        color: true,
        ..PrintOptions::default()
    };
    let r = start_view("127.0.0.1:0", opts, Box::new(buf.clone())).unwrap();
    let banner = buf.text();
    assert!(
        banner.contains(&format!("OTEL_EXPORTER_OTLP_ENDPOINT={}", r.endpoint())),
        "{banner}"
    );
    post(
        r.port(),
        "/v1/traces",
        "application/x-protobuf",
        &sample().encode_to_vec(),
    );
    r.finish();
    let text = buf.text();
    assert!(
        text[banner.len()..].starts_with("trace 0af7651916cd43dd8448eb211c80319c"),
        "{text}"
    );
    assert!(text.contains("\x1b[31mERROR: boom\x1b[0m"), "{text}");
}

fn rec(
    id: &str,
    parent: &str,
    service: &str,
    name: &str,
    kind: SpanKind,
    start: u64,
    end: u64,
) -> SpanRecord {
    SpanRecord {
        trace_id: TRACE.into(),
        span_id: id.into(),
        parent_span_id: parent.into(),
        trace_state: String::new(),
        flags: 0,
        name: name.into(),
        kind,
        start_unix_nano: T0 + start,
        end_unix_nano: T0 + end,
        attributes: Default::default(),
        events: vec![],
        links: vec![],
        status_code: StatusCode::Unset,
        status_message: String::new(),
        service_name: service.into(),
        resource: Default::default(),
        scope_name: String::new(),
        scope_version: String::new(),
    }
}

fn with(mut r: SpanRecord, attrs: &[(&str, AttrValue)]) -> SpanRecord {
    for (k, v) in attrs {
        r.attributes.insert(k.to_string(), v.clone());
    }
    r
}

fn error(mut r: SpanRecord, msg: &str) -> SpanRecord {
    r.status_code = StatusCode::Error;
    r.status_message = msg.into();
    r
}

/// Three services, an error path, and a span whose parent never arrived.
fn multi_service_trace() -> Vec<SpanRecord> {
    let st = |v: &str| AttrValue::Str(v.into());
    vec![
        error(
            with(
                rec(
                    "c000000000000003",
                    "a000000000000001",
                    "frontend",
                    "POST",
                    SpanKind::Client,
                    5 * MS,
                    24_500_000,
                ),
                &[
                    ("http.response.status_code", AttrValue::Int(500)),
                    ("server.address", st("payments")),
                ],
            ),
            "upstream failed",
        ),
        rec(
            "e000000000000005",
            "d000000000000004",
            "payments",
            "charge",
            SpanKind::Internal,
            7 * MS,
            7 * MS + 1500,
        ),
        rec(
            "f000000000000006",
            "ffffffffffffffff",
            "worker",
            "process",
            SpanKind::Consumer,
            30 * MS,
            1500 * MS,
        ),
        with(
            rec(
                "a000000000000001",
                "",
                "frontend",
                "GET /checkout",
                SpanKind::Server,
                0,
                25 * MS,
            ),
            &[
                ("http.response.status_code", AttrValue::Int(200)),
                ("http.route", st("/checkout")),
            ],
        ),
        error(
            with(
                rec(
                    "d000000000000004",
                    "c000000000000003",
                    "payments",
                    "POST /pay",
                    SpanKind::Server,
                    6 * MS,
                    23 * MS,
                ),
                &[("http.response.status_code", AttrValue::Int(500))],
            ),
            "",
        ),
        with(
            rec(
                "b000000000000002",
                "a000000000000001",
                "frontend",
                "SELECT shop.orders",
                SpanKind::Client,
                MS,
                4 * MS,
            ),
            &[
                ("db.system.name", st("mysql")),
                ("server.address", st("db")),
                ("server.port", AttrValue::Int(3306)),
            ],
        ),
    ]
}

#[test]
fn render_multi_service_trace() {
    let got = render_trace(&multi_service_trace());
    let want = "\
trace 0af7651916cd43dd8448eb211c80319c · 6 spans · 3 services · 1.50s
frontend: GET /checkout          [server]    25.0ms      +0s  http.response.status_code=200
├─ frontend: SELECT shop.orders  [client]    3.00ms  +1.00ms  db.system.name=mysql server.address=db:3306
└─ frontend: POST                [client]    19.5ms  +5.00ms  http.response.status_code=500 server.address=payments ERROR: upstream failed
   └─ payments: POST /pay        [server]    17.0ms  +6.00ms  http.response.status_code=500 ERROR
      └─ payments: charge        [internal]  1.50µs  +7.00ms
worker: process                  [consumer]   1.47s  +30.0ms  (parent not received)
";
    assert_eq!(got, want, "\n{got}");

    let colored = render_trace_with(&multi_service_trace(), true);
    assert!(colored.contains("\x1b[31mERROR: upstream failed\x1b[0m"));
    // colors change nothing but the escapes
    let stripped = colored
        .replace("\x1b[0m", "")
        .replace("\x1b[1m", "")
        .replace("\x1b[2m", "");
    let stripped = stripped
        .replace("\x1b[31m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[36m", "");
    assert_eq!(stripped, want);
}

#[test]
fn render_with_every_attribute() {
    let spans = multi_service_trace();
    let got = render_continued_opts(&spans, false, true, &std::collections::HashSet::new());
    // Each span's attributes follow its line, sorted, under the tree.
    let want_part = "\
└─ frontend: POST                [client]    19.5ms  +5.00ms  http.response.status_code=500 server.address=payments ERROR: upstream failed
       http.response.status_code=500
       server.address=payments
   └─ payments: POST /pay        [server]    17.0ms  +6.00ms  http.response.status_code=500 ERROR
          http.response.status_code=500
";
    assert!(got.contains(want_part), "\n{got}");
    assert!(got.contains("├─ frontend: SELECT shop.orders  [client]    3.00ms  +1.00ms  db.system.name=mysql server.address=db:3306\n│      db.system.name=mysql\n"), "\n{got}");
    // Without the option, the tree alone.
    assert_eq!(render_continued_opts(&spans, false, false, &std::collections::HashSet::new()), render_trace(&spans));
}

#[test]
fn render_survives_parent_cycles() {
    let spans = vec![
        rec(
            "a000000000000001",
            "b000000000000002",
            "s",
            "x",
            SpanKind::Internal,
            0,
            MS,
        ),
        rec(
            "b000000000000002",
            "a000000000000001",
            "s",
            "y",
            SpanKind::Internal,
            MS,
            2 * MS,
        ),
        rec(
            "c000000000000003",
            "c000000000000003",
            "s",
            "z",
            SpanKind::Unspecified,
            2 * MS,
            3 * MS,
        ),
    ];
    let got = render_trace(&spans);
    let want = "\
trace 0af7651916cd43dd8448eb211c80319c · 3 spans · 1 service · 3.00ms
s: z     [unspecified]  1.00ms  +2.00ms  (parent is itself)
s: x     [internal]     1.00ms      +0s  (parent cycle)
└─ s: y  [internal]     1.00ms  +1.00ms
";
    assert_eq!(got, want, "\n{got}");
    assert_eq!(render_trace(&[]), "(no spans)\n");
}

#[test]
fn durations_have_three_significant_digits() {
    let cases: &[(i128, &str)] = &[
        (0, "0s"),
        (1, "1ns"),
        (999, "999ns"),
        (1000, "1.00µs"),
        (1234, "1.23µs"),
        (12_345, "12.3µs"),
        (123_456, "123µs"),
        (999_499, "999µs"),
        (999_500, "1.00ms"),
        (25_000_000, "25.0ms"),
        (999_999_999, "1.00s"),
        (61_000_000_000, "61.0s"),
        (3_600_000_000_000, "3600s"),
        (-1_500_000, "-1.50ms"),
    ];
    for &(n, want) in cases {
        assert_eq!(format_duration(n), want, "{n}");
    }
}

#[test]
fn assembler_waits_for_root_and_quiet_period() {
    let quiet = Duration::from_secs(1);
    let mut a = TraceAssembler::new(quiet, Duration::from_secs(10));
    let t = Instant::now();
    let trace = multi_service_trace();
    let (root, rest): (Vec<_>, Vec<_>) = trace.into_iter().partition(|s| s.is_root());

    a.push(rest.clone(), t);
    // no root yet: not emitted after the quiet period
    assert!(a.take_ready(t + 2 * quiet).is_empty());
    a.push(root, t + 2 * quiet);
    assert!(a.take_ready(t + 2 * quiet + quiet / 2).is_empty());
    // a late span restarts the quiet period
    let mut late = rest[0].clone();
    late.span_id = "9999999999999999".into();
    a.push([late], t + 2 * quiet + quiet / 2);
    assert!(a.take_ready(t + 3 * quiet).is_empty());
    let ready = a.take_ready(t + 3 * quiet + quiet / 2);
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].spans.len(), 7);
    assert!(ready[0].earlier.is_empty());
    assert_eq!(a.pending(), 0);

    // spans of that trace arriving later (another service's batch) are its
    // continuation: emitted after the quiet period, with the ids emitted
    // before, and rendered under "(parent above)", not as orphans
    let t2 = t + 4 * quiet;
    let mut later = rest[0].clone();
    later.span_id = "8888888888888888".into();
    later.parent_span_id = ready[0].spans[0].span_id.clone();
    a.push([later.clone()], t2);
    assert!(a.take_ready(t2 + quiet / 2).is_empty());
    let cont = a.take_ready(t2 + quiet);
    assert_eq!(cont.len(), 1);
    assert_eq!(cont[0].earlier.len(), 7);
    let text = render_continued(&cont[0].spans, false, &cont[0].earlier);
    assert!(text.starts_with(&format!("trace {} (continued) · 1 span", later.trace_id)), "{text}");
    assert!(text.contains("(parent above)") && !text.contains("not received"), "{text}");
    // forgotten after 30 s: then a late span is an orphan again
    let mut stale = later.clone();
    stale.span_id = "7777777777777777".into();
    a.push([stale], t2 + Duration::from_secs(40));
    assert!(a.take_ready(t2 + Duration::from_secs(45)).is_empty());
    let orphan = a.take_ready(t2 + Duration::from_secs(50));
    assert!(orphan.len() == 1 && orphan[0].earlier.is_empty());

    // a trace whose root never comes is emitted after orphan_after
    let mut orphan = rest[0].clone();
    orphan.trace_id = "22".repeat(16);
    a.push([orphan.clone()], t);
    assert!(a.take_ready(t + Duration::from_secs(9)).is_empty());
    assert_eq!(a.take_ready(t + Duration::from_secs(10)).len(), 1);

    // flush_all hands over everything, oldest first
    let mut second = orphan.clone();
    second.trace_id = "33".repeat(16);
    second.start_unix_nano -= 1;
    a.push([orphan, second], t);
    let flushed = a.flush_all();
    assert_eq!(flushed.len(), 2);
    assert_eq!(flushed[0].spans[0].trace_id, "33".repeat(16));
    assert_eq!(a.pending(), 0);
}

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn printer_prints_finished_traces_and_flushes_on_finish() {
    let buf = SharedBuf::default();
    let r = Receiver::start_with_printer(
        "127.0.0.1:0",
        Duration::from_millis(100),
        Box::new(buf.clone()),
    )
    .unwrap();
    let resp = post(
        r.port(),
        "/v1/traces",
        "application/x-protobuf",
        &sample().encode_to_vec(),
    );
    assert_eq!(resp.status, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !buf
        .text()
        .contains("trace 0af7651916cd43dd8448eb211c80319c")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let want = "\
trace 0af7651916cd43dd8448eb211c80319c · 2 spans · 1 service · 5.00ms
api: GET /users  [server]  5.00ms      +0s  http.response.status_code=500 ERROR: boom
└─ api: SELECT   [client]  1.00ms  +1.00ms

";
    assert_eq!(buf.text(), want);
    // printed, counted, not kept: a long-running `weft view` must not grow
    assert_eq!(r.stats().spans, 2);
    assert!(r.spans().is_empty());

    // a rootless span waits for orphan_after (10s), but finish() prints it
    let mut lone = pspan(
        "00f067aa0ba902b7",
        "b7ad6b7169203331",
        "late",
        span::SpanKind::Internal,
        T0,
        T0 + MS,
    );
    lone.trace_id = vec![0x44; 16];
    post(
        r.port(),
        "/v1/traces",
        "application/x-protobuf",
        &request("api", vec![lone]).encode_to_vec(),
    );
    r.finish();
    let text = buf.text();
    assert!(
        text[want.len()..].starts_with(&format!("trace {} · 1 span", "44".repeat(16))),
        "{text}"
    );
    assert!(
        text.contains("api: late  [internal]  1.00ms  +0s  (parent not received)"),
        "{text}"
    );
}
