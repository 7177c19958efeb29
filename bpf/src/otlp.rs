//! OTLP/protobuf bytes of an export request, written straight from
//! [`Span`]s with prost's wire-format helpers. They decode to the same
//! `ExportTraceServiceRequest` that [`crate::export::request`] builds with
//! opentelemetry-proto's types (the test below checks it), without building
//! that message first: it needs an owned String or Vec for every id,
//! attribute key and value, and those allocations were most of the
//! loader's CPU per span.
//!
//! Field numbers are those of opentelemetry/proto/trace/v1/trace.proto and
//! common/v1/common.proto. Lengths are computed before each message is
//! written, so nothing is copied twice.

use prost::encoding::{encoded_len_varint, key_len, WireType};

use crate::spans::{Span, SpanKind, Value};

/// A varint, a byte at a time (prost's generic BufMut writer took a third
/// of the encoding's instructions).
fn encode_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn encode_key(tag: u32, wt: WireType, out: &mut Vec<u8>) {
    encode_varint(u64::from(tag << 3 | wt as u32), out);
}

fn delimited(tag: u32, n: usize) -> usize {
    key_len(tag) + encoded_len_varint(n as u64) + n
}

fn head(tag: u32, n: usize, out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(n as u64, out);
}

fn bytes(tag: u32, b: &[u8], out: &mut Vec<u8>) {
    head(tag, b.len(), out);
    out.extend_from_slice(b);
}

/// AnyValue: string_value = 1, int_value = 3 (a oneof: written even when empty).
fn any_len(v: &Value) -> usize {
    match v {
        Value::Str(s) => delimited(1, s.len()),
        Value::Int(i) => key_len(3) + encoded_len_varint(*i as u64),
    }
}

/// KeyValue: key = 1, value = 2.
fn kv_len(k: &str, v: &Value) -> usize {
    (if k.is_empty() { 0 } else { delimited(1, k.len()) }) + delimited(2, any_len(v))
}

fn kv(tag: u32, k: &str, v: &Value, out: &mut Vec<u8>) {
    head(tag, kv_len(k, v), out);
    if !k.is_empty() {
        bytes(1, k.as_bytes(), out);
    }
    head(2, any_len(v), out);
    match v {
        Value::Str(s) => bytes(1, s.as_bytes(), out),
        Value::Int(i) => {
            encode_key(3, WireType::Varint, out);
            encode_varint(*i as u64, out);
        }
    }
}

/// W3C flags, and bit 8 ("parent is remote known") when there is a parent.
pub fn flags(s: &Span) -> u32 {
    u32::from(s.flags) | if s.parent_span_id.is_some() { 0x100 } else { 0 }
}

fn kind(s: &Span) -> u64 {
    match s.kind {
        SpanKind::Server => 2,
        SpanKind::Client => 3,
    }
}

const STATUS_ERROR: u64 = 2;

/// Status: message = 2, code = 3.
fn status_len(m: &str) -> usize {
    (if m.is_empty() { 0 } else { delimited(2, m.len()) }) + key_len(3) + encoded_len_varint(STATUS_ERROR)
}

/// Span: trace_id 1, span_id 2, trace_state 3, parent_span_id 4, name 5,
/// kind 6, start 7 and end 8 (fixed64), attributes 9, status 15, flags 16 (fixed32).
fn span_len(s: &Span) -> usize {
    let mut n = delimited(1, 16) + delimited(2, 8) + key_len(6) + encoded_len_varint(kind(s));
    if !s.trace_state.is_empty() {
        n += delimited(3, s.trace_state.len());
    }
    if s.parent_span_id.is_some() {
        n += delimited(4, 8);
    }
    if !s.name.is_empty() {
        n += delimited(5, s.name.len());
    }
    if s.start_unix_nano != 0 {
        n += key_len(7) + 8;
    }
    if s.end_unix_nano != 0 {
        n += key_len(8) + 8;
    }
    n += s.attrs.iter().map(|(k, v)| delimited(9, kv_len(k, v))).sum::<usize>();
    if let Some(m) = &s.error {
        n += delimited(15, status_len(m));
    }
    if flags(s) != 0 {
        n += key_len(16) + 4;
    }
    n
}

fn span(s: &Span, out: &mut Vec<u8>) {
    bytes(1, &s.trace_id, out);
    bytes(2, &s.span_id, out);
    if !s.trace_state.is_empty() {
        bytes(3, s.trace_state.as_bytes(), out);
    }
    if let Some(p) = &s.parent_span_id {
        bytes(4, p, out);
    }
    if !s.name.is_empty() {
        bytes(5, s.name.as_bytes(), out);
    }
    encode_key(6, WireType::Varint, out);
    encode_varint(kind(s), out);
    for (tag, t) in [(7, s.start_unix_nano), (8, s.end_unix_nano)] {
        if t != 0 {
            encode_key(tag, WireType::SixtyFourBit, out);
            out.extend_from_slice(&t.to_le_bytes());
        }
    }
    for (k, v) in &s.attrs {
        kv(9, k, v, out);
    }
    if let Some(m) = &s.error {
        head(15, status_len(m), out);
        if !m.is_empty() {
            bytes(2, m.as_bytes(), out);
        }
        encode_key(3, WireType::Varint, out);
        encode_varint(STATUS_ERROR, out);
    }
    if flags(s) != 0 {
        encode_key(16, WireType::ThirtyTwoBit, out);
        out.extend_from_slice(&flags(s).to_le_bytes());
    }
}

/// Appends one ExportTraceServiceRequest (resource_spans 1) to `out`: one
/// ResourceSpans (resource 1, scope_spans 2) with a ScopeSpans (scope 1,
/// spans 2) per instrumentation scope, in first-seen order.
pub fn encode_request(resource: &[(String, Value)], spans: &[Span], out: &mut Vec<u8>) {
    let lens: Vec<usize> = spans.iter().map(span_len).collect();
    let mut scopes: Vec<(&'static str, usize)> = Vec::new();
    for (s, n) in spans.iter().zip(&lens) {
        let add = delimited(2, *n);
        match scopes.iter_mut().find(|(name, _)| *name == s.scope) {
            Some(sc) => sc.1 += add,
            None => scopes.push((s.scope, delimited(1, delimited(1, s.scope.len())) + add)),
        }
    }
    let res: usize = resource.iter().map(|(k, v)| delimited(1, kv_len(k, v))).sum();
    let rs = delimited(1, res) + scopes.iter().map(|(_, n)| delimited(2, *n)).sum::<usize>();
    out.reserve(delimited(1, rs));
    head(1, rs, out);
    head(1, res, out);
    for (k, v) in resource {
        kv(1, k, v, out);
    }
    for &(name, n) in &scopes {
        head(2, n, out);
        head(1, delimited(1, name.len()), out);
        bytes(1, name.as_bytes(), out);
        for (s, len) in spans.iter().zip(&lens).filter(|(s, _)| s.scope == name) {
            head(2, *len, out);
            let at = out.len();
            span(s, out);
            debug_assert_eq!(out.len() - at, *len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;

    fn span(scope: &'static str, name: &str, parent: bool, error: Option<&str>, attrs: Vec<(&'static str, Value)>) -> Span {
        Span {
            trace_id: [7; 16],
            span_id: [9; 8],
            parent_span_id: parent.then_some([3; 8]),
            trace_state: if parent { "k=v".into() } else { String::new() },
            flags: 1,
            name: name.to_string().into(),
            kind: if parent { SpanKind::Server } else { SpanKind::Client },
            scope,
            start_unix_nano: 1_700_000_000_000_000_000,
            end_unix_nano: 1_700_000_000_000_123_456,
            attrs,
            error: error.map(str::to_string),
            fresh: false,
        }
    }

    #[test]
    fn decodes_as_the_prost_message() {
        let resource = vec![
            ("service.name".to_string(), Value::Str("hello".into())),
            ("process.pid".to_string(), Value::Int(42)),
            ("empty".to_string(), Value::Str("".into())),
        ];
        let long = "x".repeat(300);
        let spans = vec![
            span("weft/net/http", "GET /hello", true, None, vec![("http.request.method", Value::Str("GET".into())), ("server.port", Value::Int(-1))]),
            span("weft/database/sql", "SELECT items", false, Some(""), vec![("db.query.text", Value::Str(long.clone().into()))]),
            span("weft/net/http", "", false, Some("boom"), vec![("http.response.status_code", Value::Int(500)), ("", Value::Int(0))]),
        ];
        let mut ours = vec![0xff]; // appends: earlier bytes stay
        encode_request(&resource, &spans, &mut ours);
        assert_eq!(ours[0], 0xff);
        let want = crate::export::request(&resource, spans.clone());
        let got = ExportTraceServiceRequest::decode(&ours[1..]).unwrap();
        assert_eq!(got, want);
        assert_eq!(ours.len() - 1, want.encoded_len());
        let scopes = &got.resource_spans[0].scope_spans;
        assert_eq!((scopes.len(), scopes[0].spans.len(), scopes[1].spans.len()), (2, 2, 1));
    }
}
