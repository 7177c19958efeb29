//! A small OTLP/HTTP trace receiver, for `weft view`, `weft go run` and the
//! end-to-end tests.
//!
//! * [`server`]: [`Receiver`] listens (port 0 allowed) and serves
//!   `POST /v1/traces` on a background thread, protobuf or OTLP JSON,
//!   optionally gzip-compressed, and keeps every span (or, with a printer,
//!   hands them to it and keeps none); `/v1/metrics` and
//!   `/v1/logs` are accepted and dropped so SDKs exporting them stay quiet.
//!   Tests read the spans with [`Receiver::spans`], [`Receiver::wait_for`]
//!   and [`Receiver::traces`].
//! * [`model`]: [`SpanRecord`], one received span flattened with its
//!   resource and scope (hex ids, sorted attributes).
//! * [`render`]: [`render_trace`], a trace as an indented text tree.
//! * [`assemble`]: [`TraceAssembler`], which decides when a trace is finished
//!   so the live printer ([`Receiver::start_with_printer`], [`run_view`], [`start_view`]) can
//!   print it whole.
//!
//! What is hand-written and why: decoding is not — requests are decoded by
//! the official opentelemetry-proto types (prost for protobuf, the crate's
//! `with-serde` support for OTLP JSON). The HTTP handling is a few lines over
//! tiny_http rather than a gRPC/HTTP framework (tonic, hyper, axum) because
//! the receiver only needs three POST routes, and a blocking server on one
//! thread keeps the CLI free of an async runtime. The flattened model, the
//! tree renderer and the finished-trace heuristic are weft's own: no crate
//! offers them for OTLP data.

pub mod assemble;
pub mod model;
pub mod render;
pub mod server;

pub use assemble::{Ready, TraceAssembler};
pub use model::{AttrValue, EventRecord, LinkRecord, SpanKind, SpanRecord, StatusCode};
pub use render::{format_duration, render_continued, render_continued_opts, render_trace, render_trace_with, render_traces};
pub use server::{run_view, start_view, PrintOptions, Receiver, Stats};

#[cfg(test)]
mod tests;
