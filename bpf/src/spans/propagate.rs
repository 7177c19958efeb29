//! Ids chosen by the probes (`--write-traceparent`, see
//! `src/bpf/propagate.bpf.h`): the span takes them, so it is the span the
//! traceparent written into the outgoing request names.

use super::Span;
use crate::events::Ids;

/// Gives `span` the probes' ids. A server span's parent is the incoming
/// traceparent as the probes read it; a client span keeps the parent the
/// engine found when it is in the same trace. Where the engine and the
/// probes disagree on the trace, the probes win: theirs went on the wire.
pub(super) fn adopt(span: &mut Span, ids: &Ids, server: bool) {
    if span.trace_id != ids.trace_id {
        span.trace_id = ids.trace_id;
        span.parent_span_id = None;
        span.trace_state.clear();
    }
    if server {
        span.parent_span_id = ids.parent_id;
    }
    span.span_id = ids.span_id;
    span.flags = ids.flags;
}
