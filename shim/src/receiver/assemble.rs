//! Deciding when a trace is finished, for live printing. Spans of one trace
//! arrive in several export batches (each service exports on its own), so a
//! trace is emitted once its root span has arrived and no new span of it came
//! for a quiet period. A trace whose root never comes (its parent lives in an
//! uninstrumented caller) is emitted after a longer silence, and
//! [`TraceAssembler::flush_all`] hands over whatever is left at shutdown.
//! Spans that arrive for a trace already emitted (a service exporting later
//! than the root's, e.g. on the SDKs' default 5 s batch delay) are emitted
//! as its continuation, with the ids of the spans emitted before, so the
//! printer can say their parent is above rather than missing.
//!
//! Time is passed in by the caller, so the logic is tested without sleeping.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::model::SpanRecord;

/// How long an emitted trace's span ids are remembered for continuations.
const REMEMBER: Duration = Duration::from_secs(30);

struct Pending {
    spans: Vec<SpanRecord>,
    has_root: bool,
    last_seen: Instant,
}

/// A trace ready to print: its new spans, and the ids of its spans emitted
/// earlier (empty unless this is a continuation).
pub struct Ready {
    pub spans: Vec<SpanRecord>,
    pub earlier: HashSet<String>,
}

/// Groups spans by trace and releases traces once they look finished.
pub struct TraceAssembler {
    quiet: Duration,
    orphan_after: Duration,
    pending: HashMap<String, Pending>,
    /// Emitted traces: when, and their span ids (forgotten after REMEMBER).
    emitted: HashMap<String, (Instant, HashSet<String>)>,
}

impl TraceAssembler {
    /// `quiet`: silence after the root arrived before a trace is emitted.
    /// `orphan_after`: silence before a trace with no root is emitted anyway.
    pub fn new(quiet: Duration, orphan_after: Duration) -> TraceAssembler {
        TraceAssembler {
            quiet,
            orphan_after,
            pending: HashMap::new(),
            emitted: HashMap::new(),
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

    /// Removes and returns the traces that are finished at `now`, oldest trace
    /// first. A continuation is finished once quiet, like a trace with its root.
    pub fn take_ready(&mut self, now: Instant) -> Vec<Ready> {
        self.emitted.retain(|_, (at, _)| now.saturating_duration_since(*at) < REMEMBER);
        let ready: Vec<String> = self
            .pending
            .iter()
            .filter(|(id, p)| {
                let idle = now.saturating_duration_since(p.last_seen);
                idle >= if p.has_root || self.emitted.contains_key(*id) {
                    self.quiet
                } else {
                    self.orphan_after
                }
            })
            .map(|(id, _)| id.clone())
            .collect();
        let traces = ready.into_iter().filter_map(|id| self.pending.remove(&id)).collect();
        self.emit(traces, now)
    }

    /// Removes and returns every pending trace, finished or not, oldest trace first.
    pub fn flush_all(&mut self) -> Vec<Ready> {
        let traces = self.pending.drain().map(|(_, p)| p).collect();
        self.emit(traces, Instant::now())
    }

    /// Sorts `traces` and pairs each with the span ids emitted before it,
    /// remembering its own.
    fn emit(&mut self, traces: Vec<Pending>, now: Instant) -> Vec<Ready> {
        let traces = sorted(traces.into_iter().map(|p| p.spans).collect());
        traces
            .into_iter()
            .map(|spans| {
                let id = spans[0].trace_id.clone();
                let earlier = self.emitted.remove(&id).map(|(_, ids)| ids).unwrap_or_default();
                let mut all = earlier.clone();
                all.extend(spans.iter().map(|s| s.span_id.clone()));
                self.emitted.insert(id, (now, all));
                Ready { spans, earlier }
            })
            .collect()
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
