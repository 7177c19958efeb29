//! weft-bpf: weft's path for Go programs without source. C CO-RE uprobes
//! (`src/bpf/weft.bpf.c`, built by libbpf-cargo, loaded by libbpf-rs) on a
//! plain Go binary, turned into the same spans the compile-time rules make.
//!
//! * [`goelf`]: Go binary analysis (buildinfo, symbols or pclntab, RET
//!   sites, DWARF or pinned struct offsets).
//! * [`events`]: the probes' records (bindgen from `weft_events.h`).
//! * [`probes`]: loading, configuring and attaching the probes.
//! * [`spans`]: events to spans (pairing, goroutine linking, semconv);
//!   [`semconv`]: the Go runtime's attribute helpers, ported.
//! * [`export`]: OTLP/HTTP protobuf export from the OTEL_* environment;
//!   [`otlp`]: its request bytes, written straight from the spans.
//! * [`prereq`]: privileges, BTF, uprobes; [`cmd`]: the two commands.
pub mod cmd;
pub mod events;
pub mod export;
pub mod otlp;
pub mod goelf;
pub mod prereq;
pub mod probes;
pub mod semconv;
pub mod spans;

pub use cmd::{attach_cmd, attach_cmd_with, last_stats, run_cmd, run_cmd_with};
pub use probes::Options;
