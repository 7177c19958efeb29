//! The flattened span model: one [`SpanRecord`] per received span, carrying
//! its resource and scope, with ids as lowercase hex and attributes in a
//! sorted map, so tests can compare and print spans without walking the
//! nested OTLP messages.

use std::collections::BTreeMap;
use std::fmt;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span;

/// An attribute value, as OTLP's `AnyValue` allows it.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<AttrValue>),
    Map(BTreeMap<String, AttrValue>),
    /// An `AnyValue` with no value set.
    Empty,
}

impl AttrValue {
    fn from_any(v: Option<&AnyValue>) -> AttrValue {
        use any_value::Value;
        match v.and_then(|v| v.value.as_ref()) {
            None => AttrValue::Empty,
            Some(Value::StringValue(s)) => AttrValue::Str(s.clone()),
            Some(Value::BoolValue(b)) => AttrValue::Bool(*b),
            Some(Value::IntValue(i)) => AttrValue::Int(*i),
            Some(Value::DoubleValue(d)) => AttrValue::Double(*d),
            Some(Value::BytesValue(b)) => AttrValue::Bytes(b.clone()),
            Some(Value::ArrayValue(a)) => AttrValue::Array(
                a.values
                    .iter()
                    .map(|v| AttrValue::from_any(Some(v)))
                    .collect(),
            ),
            Some(Value::KvlistValue(kv)) => AttrValue::Map(attr_map(&kv.values)),
            // A profiling-only string-table reference: outside profiles the spec
            // says to treat it as absent.
            Some(Value::StringValueStrindex(_)) => AttrValue::Empty,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Str(s) => f.write_str(s),
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::Int(i) => write!(f, "{i}"),
            AttrValue::Double(d) => write!(f, "{d}"),
            AttrValue::Bytes(b) => write!(f, "0x{}", hex::encode(b)),
            AttrValue::Array(a) => {
                f.write_str("[")?;
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            AttrValue::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            AttrValue::Empty => Ok(()),
        }
    }
}

/// Converts OTLP key/values into a sorted map; a repeated key keeps its last value.
pub fn attr_map(kvs: &[KeyValue]) -> BTreeMap<String, AttrValue> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), AttrValue::from_any(kv.value.as_ref())))
        .collect()
}

/// OTLP `Span.SpanKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// Maps the wire value; values this version does not know map to `Unspecified`.
    pub fn from_i32(v: i32) -> SpanKind {
        match span::SpanKind::try_from(v) {
            Ok(span::SpanKind::Internal) => SpanKind::Internal,
            Ok(span::SpanKind::Server) => SpanKind::Server,
            Ok(span::SpanKind::Client) => SpanKind::Client,
            Ok(span::SpanKind::Producer) => SpanKind::Producer,
            Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    /// Lowercase name, as the tree renderer shows it.
    pub fn tag(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

/// OTLP `Status.StatusCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCode {
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    pub fn from_i32(v: i32) -> StatusCode {
        match v {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }
}

/// A span event (exceptions are recorded as events named `exception`).
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub name: String,
    pub time_unix_nano: u64,
    pub attributes: BTreeMap<String, AttrValue>,
}

/// A span link, ids in hex.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRecord {
    pub trace_id: String,
    pub span_id: String,
    pub attributes: BTreeMap<String, AttrValue>,
}

/// One received span, flattened with its resource and instrumentation scope.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// 32 lowercase hex digits (or whatever length the sender used).
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub trace_state: String,
    pub flags: u32,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub attributes: BTreeMap<String, AttrValue>,
    pub events: Vec<EventRecord>,
    pub links: Vec<LinkRecord>,
    pub status_code: StatusCode,
    pub status_message: String,
    /// The resource's `service.name`, empty when the resource has none.
    pub service_name: String,
    pub resource: BTreeMap<String, AttrValue>,
    pub scope_name: String,
    pub scope_version: String,
}

impl SpanRecord {
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes.get(key)
    }

    /// The attribute as a string, if it is one.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attr(key).and_then(AttrValue::as_str)
    }

    /// The attribute as an integer, if it is one.
    pub fn attr_int(&self, key: &str) -> Option<i64> {
        self.attr(key).and_then(AttrValue::as_int)
    }

    /// The resource attribute as a string, if it is one.
    pub fn resource_str(&self, key: &str) -> Option<&str> {
        self.resource.get(key).and_then(AttrValue::as_str)
    }

    /// End minus start; negative when the sender recorded an end before the start.
    pub fn duration_nanos(&self) -> i128 {
        self.end_unix_nano as i128 - self.start_unix_nano as i128
    }

    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_empty()
    }

    pub fn is_error(&self) -> bool {
        self.status_code == StatusCode::Error
    }
}

/// Flattens an export request into one record per span, in wire order.
pub fn flatten(req: &ExportTraceServiceRequest) -> Vec<SpanRecord> {
    let mut out = Vec::new();
    for rs in &req.resource_spans {
        let resource = rs
            .resource
            .as_ref()
            .map(|r| attr_map(&r.attributes))
            .unwrap_or_default();
        let service_name = resource
            .get("service.name")
            .and_then(AttrValue::as_str)
            .unwrap_or_default()
            .to_string();
        for ss in &rs.scope_spans {
            let (scope_name, scope_version) = ss
                .scope
                .as_ref()
                .map(|s| (s.name.clone(), s.version.clone()))
                .unwrap_or_default();
            for s in &ss.spans {
                let (status_code, status_message) = s
                    .status
                    .as_ref()
                    .map(|st| (StatusCode::from_i32(st.code), st.message.clone()))
                    .unwrap_or((StatusCode::Unset, String::new()));
                out.push(SpanRecord {
                    trace_id: hex::encode(&s.trace_id),
                    span_id: hex::encode(&s.span_id),
                    parent_span_id: hex::encode(&s.parent_span_id),
                    trace_state: s.trace_state.clone(),
                    flags: s.flags,
                    name: s.name.clone(),
                    kind: SpanKind::from_i32(s.kind),
                    start_unix_nano: s.start_time_unix_nano,
                    end_unix_nano: s.end_time_unix_nano,
                    attributes: attr_map(&s.attributes),
                    events: s
                        .events
                        .iter()
                        .map(|e| EventRecord {
                            name: e.name.clone(),
                            time_unix_nano: e.time_unix_nano,
                            attributes: attr_map(&e.attributes),
                        })
                        .collect(),
                    links: s
                        .links
                        .iter()
                        .map(|l| LinkRecord {
                            trace_id: hex::encode(&l.trace_id),
                            span_id: hex::encode(&l.span_id),
                            attributes: attr_map(&l.attributes),
                        })
                        .collect(),
                    status_code,
                    status_message,
                    service_name: service_name.clone(),
                    resource: resource.clone(),
                    scope_name: scope_name.clone(),
                    scope_version: scope_version.clone(),
                });
            }
        }
    }
    out
}
