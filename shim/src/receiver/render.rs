//! The trace tree renderer: a header line, then one line per span, indented
//! by parent links, with aligned columns for kind, duration and offset from
//! the trace start, and the few attributes that say what a span did.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::model::SpanRecord;

/// Attributes shown on a span's line, in this order, when present.
const KEY_ATTRS: &[&str] = &[
    "http.response.status_code",
    "rpc.grpc.status_code",
    "db.system.name",
    "messaging.system",
    "server.address",
];

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";

/// Renders one trace as plain text (no colors). See [`render_trace_with`].
pub fn render_trace(spans: &[SpanRecord]) -> String {
    render_trace_with(spans, false)
}

/// Renders one trace as an indented tree. Spans whose parent is not in
/// `spans` are shown at top level and marked `(parent not received)`;
/// children are ordered by start time. `color` adds ANSI colors.
pub fn render_trace_with(spans: &[SpanRecord], color: bool) -> String {
    render_continued(spans, color, &HashSet::new())
}

/// [`render_trace_with`] for more spans of a trace whose spans with ids
/// `earlier` were rendered before: the header says "(continued)", and a
/// span whose parent is among them is marked `(parent above)`.
pub fn render_continued(spans: &[SpanRecord], color: bool, earlier: &HashSet<String>) -> String {
    render_continued_opts(spans, color, false, earlier)
}

/// [`render_continued`], with every attribute of each span (`key=value`,
/// sorted, one per line under it) when `attributes` is set.
pub fn render_continued_opts(spans: &[SpanRecord], color: bool, attributes: bool, earlier: &HashSet<String>) -> String {
    if spans.is_empty() {
        return "(no spans)\n".to_string();
    }
    let t0 = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
    let t1 = spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(0);
    let services: HashSet<&str> = spans.iter().map(service).collect();
    let mut out = format!(
        "trace {}{} · {} · {} · {}\n",
        spans[0].trace_id,
        if earlier.is_empty() { "" } else { " (continued)" },
        plural(spans.len(), "span"),
        plural(services.len(), "service"),
        format_duration(t1 as i128 - t0 as i128),
    );

    let rows = tree_rows(spans, earlier);
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            let s = &spans[r.idx];
            [
                format!("{}{}: {}", r.prefix, service(s), s.name),
                format!("[{}]", s.kind.tag()),
                format_duration(s.duration_nanos()),
                format!(
                    "+{}",
                    format_duration(s.start_unix_nano as i128 - t0 as i128)
                ),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (lw, kw, dw, ow) = (width(0), width(1), width(2), width(3));

    for (r, c) in rows.iter().zip(&cells) {
        let s = &spans[r.idx];
        let pad = |text: &str, w: usize| " ".repeat(w.saturating_sub(text.chars().count()));
        let mut line = String::new();
        // left column: tree prefix, service, name
        line.push_str(&r.prefix);
        line.push_str(&paint(color, CYAN, service(s)));
        line.push_str(": ");
        line.push_str(&paint(color, BOLD, &s.name));
        line.push_str(&pad(&c[0], lw));
        line.push_str("  ");
        line.push_str(&paint(color, DIM, &c[1]));
        line.push_str(&pad(&c[1], kw));
        line.push_str("  ");
        line.push_str(&pad(&c[2], dw));
        line.push_str(&c[2]);
        line.push_str("  ");
        line.push_str(&pad(&c[3], ow));
        line.push_str(&paint(color, DIM, &c[3]));

        let mut extras: Vec<String> = key_attrs(s);
        if s.is_error() {
            let e = if s.status_message.is_empty() {
                "ERROR".to_string()
            } else {
                format!("ERROR: {}", s.status_message)
            };
            extras.push(paint(color, RED, &e));
        }
        if let Some(m) = r.marker {
            extras.push(paint(color, YELLOW, m));
        }
        if !extras.is_empty() {
            line.push_str("  ");
            line.push_str(&extras.join(" "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if attributes {
            // Under the span's name: the tree prefix, with branches turned
            // into the lines that continue below them.
            let indent: String = r.prefix.chars().map(|c| if c == '├' || c == '│' { '│' } else { ' ' }).collect();
            for (k, v) in &s.attributes {
                out.push_str(&indent);
                out.push_str("    ");
                out.push_str(&paint(color, DIM, &format!("{k}={v}")));
                out.push('\n');
            }
        }
    }
    out
}

/// Renders every trace in `spans`, ordered by trace start, separated by blank lines.
pub fn render_traces(spans: &[SpanRecord], color: bool) -> String {
    let mut by_trace: BTreeMap<&str, Vec<SpanRecord>> = BTreeMap::new();
    for s in spans {
        by_trace.entry(&s.trace_id).or_default().push(s.clone());
    }
    let mut traces: Vec<Vec<SpanRecord>> = by_trace.into_values().collect();
    traces.sort_by_key(|t| t.iter().map(|s| s.start_unix_nano).min());
    traces
        .iter()
        .map(|t| render_trace_with(t, color))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A duration in human units with 3 significant digits: `950ns`, `1.50µs`,
/// `12.3ms`, `250ms`, `3.00s`; negative durations keep their sign.
pub fn format_duration(nanos: i128) -> String {
    if nanos < 0 {
        return format!("-{}", format_duration(-nanos));
    }
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1000 {
        return format!("{nanos}ns");
    }
    let n = nanos as f64;
    for (unit, name) in [(1e3, "µs"), (1e6, "ms")] {
        let v = n / unit;
        if v < 999.5 {
            return format!("{}{name}", sig3(v));
        }
    }
    format!("{}s", sig3(n / 1e9))
}

fn sig3(v: f64) -> String {
    if v < 9.995 {
        format!("{v:.2}")
    } else if v < 99.95 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn service(s: &SpanRecord) -> &str {
    if s.service_name.is_empty() {
        "unknown_service"
    } else {
        &s.service_name
    }
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color && !text.is_empty() {
        format!("{code}{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn key_attrs(s: &SpanRecord) -> Vec<String> {
    let mut out = Vec::new();
    for &k in KEY_ATTRS {
        let v = match k {
            // pre-1.26 semantic conventions used db.system
            "db.system.name" => s.attr(k).or_else(|| s.attr("db.system")),
            _ => s.attr(k),
        };
        let Some(v) = v else { continue };
        if k == "server.address" {
            if let Some(p) = s.attr("server.port") {
                out.push(format!("{k}={v}:{p}"));
                continue;
            }
        }
        out.push(format!("{k}={v}"));
    }
    out
}

struct Row {
    idx: usize,
    prefix: String,
    marker: Option<&'static str>,
}

/// Orders the spans depth-first from the top-level ones (roots and orphans),
/// each level by start time. Spans caught in a parent cycle, which no top-level
/// span reaches, are shown at top level too, so nothing is ever dropped.
fn tree_rows(spans: &[SpanRecord], earlier: &HashSet<String>) -> Vec<Row> {
    let key = |i: usize| {
        (
            spans[i].start_unix_nano,
            spans[i].name.as_str(),
            spans[i].span_id.as_str(),
            i,
        )
    };
    let present: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut top: Vec<(usize, Option<&'static str>)> = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        let p = s.parent_span_id.as_str();
        if p.is_empty() {
            top.push((i, None));
        } else if p == s.span_id {
            top.push((i, Some("(parent is itself)")));
        } else if earlier.contains(p) {
            top.push((i, Some("(parent above)")));
        } else if !present.contains(p) {
            top.push((i, Some("(parent not received)")));
        } else {
            children.entry(p).or_default().push(i);
        }
    }
    for c in children.values_mut() {
        c.sort_by_key(|&i| key(i));
    }
    top.sort_by_key(|&(i, _)| key(i));

    let mut visited = vec![false; spans.len()];
    let mut rows = Vec::with_capacity(spans.len());
    let walk = |start: usize,
                marker: Option<&'static str>,
                rows: &mut Vec<Row>,
                visited: &mut Vec<bool>| {
        // (span, its line prefix, its children's prefix, marker)
        let mut stack = vec![(start, String::new(), String::new(), marker)];
        while let Some((i, prefix, child_prefix, marker)) = stack.pop() {
            if visited[i] {
                continue;
            }
            visited[i] = true;
            rows.push(Row {
                idx: i,
                prefix,
                marker,
            });
            let kids = children
                .get(spans[i].span_id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let kids: Vec<usize> = kids.iter().copied().filter(|&k| !visited[k]).collect();
            for (n, &k) in kids.iter().enumerate().rev() {
                let last = n + 1 == kids.len();
                let (line, cont) = if last {
                    ("└─ ", "   ")
                } else {
                    ("├─ ", "│  ")
                };
                stack.push((
                    k,
                    format!("{child_prefix}{line}"),
                    format!("{child_prefix}{cont}"),
                    None,
                ));
            }
        }
    };
    for &(i, m) in &top {
        walk(i, m, &mut rows, &mut visited);
    }
    loop {
        let rest = (0..spans.len())
            .filter(|&i| !visited[i])
            .min_by_key(|&i| key(i));
        match rest {
            Some(i) => walk(i, Some("(parent cycle)"), &mut rows, &mut visited),
            None => break,
        }
    }
    rows
}
