//! Deciding when a trace is finished, for live printing. Spans of one trace
//! arrive in several export batches (each service exports on its own), so a
//! trace is emitted once its root span has arrived and no new span of it came
//! for a quiet period. A trace whose root never comes (its parent lives in an
//! uninstrumented caller) is emitted after a longer silence, and
//! [`TraceAssembler::flush_all`] hands over whatever is left at shutdown.
//!
//! Time is passed in by the caller, so the logic is tested without sleeping.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::model::SpanRecord;

struct Pending {
    spans: Vec<SpanRecord>,
    has_root: bool,
    last_seen: Instant,
}

/// Groups spans by trace and releases traces once they look finished.
pub struct TraceAssembler {
    quiet: Duration,
    orphan_after: Duration,
    pending: HashMap<String, Pending>,
}

impl TraceAssembler {
    /// `quiet`: silence after the root arrived before a trace is emitted.
    /// `orphan_after`: silence before a trace with no root is emitted anyway.
    pub fn new(quiet: Duration, orphan_after: Duration) -> TraceAssembler {
        TraceAssembler {
            quiet,
            orphan_after,
            pending: HashMap::new(),
        }
    }

    /// Adds spans received at `now`.
    pub fn push(&mut self, spans: impl IntoIterator<Item = SpanRecord>, now: Instant) {
        for s in spans {
            let p = self
                .pending
                .entry(s.trace_id.clone())
                .or_insert_with(|| Pending {
                    spans: Vec::new(),
                    has_root: false,
                    last_seen: now,
                });
            p.has_root |= s.is_root();
            p.last_seen = now;
            p.spans.push(s);
        }
    }

    /// Removes and returns the traces that are finished at `now`, oldest trace first.
    pub fn take_ready(&mut self, now: Instant) -> Vec<Vec<SpanRecord>> {
        let ready: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| {
                let idle = now.saturating_duration_since(p.last_seen);
                idle >= if p.has_root {
                    self.quiet
                } else {
                    self.orphan_after
                }
            })
            .map(|(id, _)| id.clone())
            .collect();
        let traces = ready
            .into_iter()
            .filter_map(|id| self.pending.remove(&id))
            .map(|p| p.spans)
            .collect();
        sorted(traces)
    }

    /// Removes and returns every pending trace, finished or not, oldest trace first.
    pub fn flush_all(&mut self) -> Vec<Vec<SpanRecord>> {
        sorted(self.pending.drain().map(|(_, p)| p.spans).collect())
    }

    /// How many traces are waiting.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

fn sorted(mut traces: Vec<Vec<SpanRecord>>) -> Vec<Vec<SpanRecord>> {
    traces.sort_by(|a, b| {
        let start = |t: &[SpanRecord]| t.iter().map(|s| s.start_unix_nano).min();
        (start(a), a.first().map(|s| &s.trace_id)).cmp(&(start(b), b.first().map(|s| &s.trace_id)))
    });
    traces
}
