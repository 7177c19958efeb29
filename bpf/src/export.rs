//! OTLP/HTTP protobuf export of finished spans, configured by the standard
//! OTEL_* environment like the woven Go runtime: endpoint
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`
//! plus `/v1/traces`, else `http://localhost:4318/v1/traces`), headers,
//! timeout, `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` (service.name
//! defaults to the executable's name), `OTEL_SDK_DISABLED`. Messages are the
//! official opentelemetry-proto types encoded by prost; a background thread
//! sends batches, and a collector that is down only costs counted drops.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span as PSpan, Status};

use crate::spans::{Span, SpanKind, Value};

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct Config {
    pub endpoint: String,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub disabled: bool,
    pub resource: Vec<(String, Value)>,
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn parse_kv_list(s: &str) -> Vec<(String, String)> {
    s.split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (pct_decode(k.trim()), pct_decode(v.trim())))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(Ok(v)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Config {
    /// From the environment; `exe` names the traced program, `go_version` its Go.
    pub fn from_env(exe: &std::path::Path, pid: u32, go_version: &str) -> Config {
        let endpoint = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").unwrap_or_else(|| {
            let base = env("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_else(|| "http://localhost:4318".into());
            format!("{}/v1/traces", base.trim_end_matches('/'))
        });
        let protocol = env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"));
        if let Some(p) = protocol.filter(|p| !p.eq_ignore_ascii_case("http/protobuf")) {
            eprintln!("weft: OTEL_EXPORTER_OTLP_PROTOCOL={p:?}: weft run exports OTLP/HTTP protobuf only, to {endpoint} (a collector's OTLP/HTTP port is 4318)");
        }
        let mut headers = parse_kv_list(&env("OTEL_EXPORTER_OTLP_HEADERS").unwrap_or_default());
        headers.extend(parse_kv_list(&env("OTEL_EXPORTER_OTLP_TRACES_HEADERS").unwrap_or_default()));
        let timeout_ms = env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            .or_else(|| env("OTEL_EXPORTER_OTLP_TIMEOUT"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000u64);
        let exe_name = exe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut resource: Vec<(String, Value)> = vec![
            ("service.name".into(), Value::Str(exe_name.clone().into())),
            ("telemetry.sdk.name".into(), Value::Str("weft".into())),
            ("telemetry.sdk.language".into(), Value::Str("go".into())),
            ("telemetry.sdk.version".into(), Value::Str(env!("CARGO_PKG_VERSION").into())),
            ("telemetry.distro.name".into(), Value::Str("weft-ebpf".into())),
            ("process.pid".into(), Value::Int(pid.into())),
            ("process.executable.name".into(), Value::Str(exe_name.into())),
            ("process.executable.path".into(), Value::Str(exe.display().to_string().into())),
            ("process.runtime.name".into(), Value::Str("go".into())),
            ("process.runtime.version".into(), Value::Str(go_version.to_string().into())),
        ];
        let mut set = |k: String, v: String| {
            resource.retain(|(x, _)| *x != k);
            resource.push((k, Value::Str(v.into())));
        };
        for (k, v) in parse_kv_list(&env("OTEL_RESOURCE_ATTRIBUTES").unwrap_or_default()) {
            set(k, v);
        }
        if let Some(s) = env("OTEL_SERVICE_NAME") {
            set("service.name".into(), s);
        }
        Config {
            endpoint,
            headers,
            timeout: Duration::from_millis(timeout_ms),
            disabled: env("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            resource,
        }
    }
}

fn any(v: Value) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(match v {
            Value::Str(s) => any_value::Value::StringValue(s.into_owned()),
            Value::Int(i) => any_value::Value::IntValue(i),
        }),
    })
}

fn kvs<K: Into<String>>(attrs: Vec<(K, Value)>) -> Vec<KeyValue> {
    attrs.into_iter().map(|(key, v)| KeyValue { key: key.into(), value: any(v), ..Default::default() }).collect()
}

/// One export request for `spans` (grouped by scope, first-seen order), as
/// opentelemetry-proto's message. The exporter writes the same bytes
/// without building it ([`crate::otlp`]); this is the reference it is
/// tested against.
pub fn request(resource: &[(String, Value)], spans: Vec<Span>) -> ExportTraceServiceRequest {
    let mut scope_spans: Vec<ScopeSpans> = Vec::new();
    let mut scopes: Vec<&'static str> = Vec::new();
    for s in spans {
        let i = match scopes.iter().position(|x| *x == s.scope) {
            Some(i) => i,
            None => {
                scopes.push(s.scope);
                scope_spans.push(ScopeSpans {
                    scope: Some(InstrumentationScope { name: s.scope.into(), ..Default::default() }),
                    spans: Vec::new(),
                    schema_url: String::new(),
                });
                scopes.len() - 1
            }
        };
        scope_spans[i].spans.push(to_proto(s));
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: kvs(resource.to_vec()), ..Default::default() }),
            scope_spans,
            schema_url: String::new(),
        }],
    }
}

fn to_proto(s: Span) -> PSpan {
    PSpan {
        trace_id: s.trace_id.to_vec(),
        span_id: s.span_id.to_vec(),
        trace_state: s.trace_state,
        parent_span_id: s.parent_span_id.map(|p| p.to_vec()).unwrap_or_default(),
        flags: u32::from(s.flags) | if s.parent_span_id.is_some() { 0x100 } else { 0 },
        name: s.name.into_owned(),
        kind: match s.kind {
            SpanKind::Server => span::SpanKind::Server as i32,
            SpanKind::Client => span::SpanKind::Client as i32,
        },
        start_time_unix_nano: s.start_unix_nano,
        end_time_unix_nano: s.end_unix_nano,
        attributes: kvs(s.attrs),
        status: s.error.map(|message| Status { message, code: status::StatusCode::Error as i32 }),
        ..Default::default()
    }
}

/// The background sender.
pub struct Exporter {
    tx: Option<Sender<Vec<Span>>>,
    thread: Option<JoinHandle<(u64, u64, Option<String>)>>,
}

/// What the exporter did, for the closing line.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub sent: u64,
    pub failed: u64,
    pub last_error: Option<String>,
}

impl Exporter {
    pub fn start(cfg: Config) -> Exporter {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("weft-otlp".into())
            .spawn(move || run(cfg, rx))
            .expect("spawning the OTLP exporter thread");
        Exporter { tx: Some(tx), thread: Some(thread) }
    }

    pub fn send(&self, s: Span) {
        self.send_all(vec![s]);
    }

    /// Queues many spans at once (one wakeup of the sender).
    pub fn send_all(&self, spans: Vec<Span>) {
        if let (Some(tx), false) = (&self.tx, spans.is_empty()) {
            let _ = tx.send(spans);
        }
    }

    /// Flushes what is queued and stops.
    pub fn shutdown(mut self) -> Report {
        self.tx.take();
        match self.thread.take().map(|t| t.join()) {
            Some(Ok((sent, failed, last_error))) => Report { sent, failed, last_error },
            _ => Report::default(),
        }
    }
}

fn run(cfg: Config, rx: Receiver<Vec<Span>>) -> (u64, u64, Option<String>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(cfg.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let (mut sent, mut failed, mut last_error) = (0u64, 0u64, None);
    let mut batch: Vec<Span> = Vec::new();
    let mut body = Vec::new();
    let mut deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let closed = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(s) => {
                batch.extend(s);
                if batch.len() < 512 {
                    continue;
                }
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let n = batch.len() as u64;
        if n > 0 && !cfg.disabled {
            body.clear();
            crate::otlp::encode_request(&cfg.resource, &batch, &mut body);
            let mut req = agent.post(&cfg.endpoint).header("Content-Type", "application/x-protobuf");
            for (k, v) in &cfg.headers {
                req = req.header(k, v);
            }
            match req.send(&body[..]) {
                Ok(r) if r.status().is_success() => sent += n,
                Ok(r) => {
                    failed += n;
                    last_error = Some(format!("{} answered HTTP {}", cfg.endpoint, r.status()));
                }
                Err(e) => {
                    failed += n;
                    last_error = Some(format!("{}: {e}", cfg.endpoint));
                }
            }
        }
        batch.clear();
        if closed {
            return (sent, failed, last_error);
        }
        deadline = Instant::now() + Duration::from_secs(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lists() {
        assert_eq!(parse_kv_list("a=1, b = x%20y ,bad"), vec![("a".into(), "1".into()), ("b".into(), "x y".into())]);
    }
}
