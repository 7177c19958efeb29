//! The struct fields the probes read, and where their offsets come from:
//! the binary's DWARF when present, else the pinned table
//! (`offsets_table.json`, one entry per Go release, made from reference
//! builds by `weft ebpf-offsets BINARY... > offsets_table.json`).
//!
//! The table lives here rather than under `rules/`: every `rules/**.json`
//! is parsed as a compile-time rule, and `rules/` is hashed into the
//! rule-set hash, which would rebuild every woven package when it changes.
//! Only standard-library structs are read, so the key is the Go release.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};

/// (config field, DWARF "struct.field", required for its probe group).
/// A field not required may be absent (`WEFT_NO_FIELD`).
pub const FIELDS: &[(&str, &str, Group)] = &[
    ("g_goid", "runtime.g.goid", Group::Runtime),
    ("g_parent_goid", "runtime.g.parentGoid", Group::Runtime),
    ("g_status", "runtime.g.atomicstatus", Group::Runtime),
    ("req_method", "net/http.Request.Method", Group::Http),
    ("req_url", "net/http.Request.URL", Group::Http),
    ("req_proto_major", "net/http.Request.ProtoMajor", Group::Http),
    ("req_proto_minor", "net/http.Request.ProtoMinor", Group::Http),
    ("req_host", "net/http.Request.Host", Group::Http),
    ("req_remote_addr", "net/http.Request.RemoteAddr", Group::Http),
    ("req_pat", "net/http.Request.pat", Group::Optional),
    ("pattern_str", "net/http.pattern.str", Group::Optional),
    ("url_scheme", "net/url.URL.Scheme", Group::Http),
    ("url_user", "net/url.URL.User", Group::Http),
    ("url_host", "net/url.URL.Host", Group::Http),
    ("url_path", "net/url.URL.Path", Group::Http),
    ("url_raw_query", "net/url.URL.RawQuery", Group::Http),
    ("resp_conn", "net/http.response.conn", Group::Optional),
    ("resp_status", "net/http.response.status", Group::Optional),
    ("resp_wrote_header", "net/http.response.wroteHeader", Group::Optional),
    ("conn_bufr", "net/http.conn.bufr", Group::Optional),
    ("bufio_buf", "bufio.Reader.buf", Group::Optional),
    ("bufio_r", "bufio.Reader.r", Group::Optional),
    ("response_status_code", "net/http.Response.StatusCode", Group::Http),
    ("response_proto_major", "net/http.Response.ProtoMajor", Group::Optional),
    ("response_proto_minor", "net/http.Response.ProtoMinor", Group::Optional),
    ("stmt_db", "database/sql.Stmt.db", Group::Sql),
    ("stmt_query", "database/sql.Stmt.query", Group::Sql),
    ("bufw_buf", "bufio.Writer.buf", Group::Write),
    ("bufw_n", "bufio.Writer.n", Group::Write),
    // HTTP/2 servers: net/http/internal/http2 (Go 1.27+) ... (a config
    // field takes the first name the binary has: Request.URL is in both)
    ("h2_fields", "net/http/internal/http2.MetaHeadersFrame.Fields", Group::H2Internal),
    ("h2_req_url", "net/http/internal/http2.ServerRequest.URL", Group::H2Internal),
    ("h2_rw_rws", "net/http/internal/http2.responseWriter.rws", Group::Optional),
    ("h2_rws_status", "net/http/internal/http2.responseWriterState.status", Group::Optional),
    ("h2_rws_wrote", "net/http/internal/http2.responseWriterState.wroteHeader", Group::Optional),
    // ... else net/http's bundled copy (Go 1.22–1.26).
    ("h2_fields", "net/http.http2MetaHeadersFrame.Fields", Group::H2),
    ("h2_req_url", "net/http.Request.URL", Group::H2),
    ("h2_rw_rws", "net/http.http2responseWriter.rws", Group::Optional),
    ("h2_rws_status", "net/http.http2responseWriterState.status", Group::Optional),
    ("h2_rws_wrote", "net/http.http2responseWriterState.wroteHeader", Group::Optional),
    ("hf_name", "vendor/golang.org/x/net/http2/hpack.HeaderField.Name", Group::H2Fields),
    ("hf_value", "vendor/golang.org/x/net/http2/hpack.HeaderField.Value", Group::H2Fields),
    ("hf_sensitive", "vendor/golang.org/x/net/http2/hpack.HeaderField.Sensitive", Group::H2Fields),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Needed by everything (goroutine ids).
    Runtime,
    /// Needed by the net/http probes.
    Http,
    /// Needed by the database/sql Stmt probes.
    Sql,
    /// Needed to write traceparent into outgoing requests (`--write-traceparent`).
    Write,
    /// Needed for HTTP/2 servers' incoming trace context: net/http's
    /// bundled http2 (Go ≤ 1.26), net/http/internal/http2 (Go 1.27+), and
    /// the decoded header fields both use.
    H2,
    H2Internal,
    H2Fields,
    /// Read when present.
    Optional,
}

/// The DWARF struct names to look for.
pub fn wanted_structs() -> BTreeSet<&'static str> {
    FIELDS.iter().map(|(_, d, _)| d.rsplit_once('.').unwrap().0).collect()
}

/// Where a binary's offsets came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Dwarf,
    Pinned(String),
}

/// Resolved offsets, keyed by DWARF name.
#[derive(Debug, Clone)]
pub struct Offsets {
    pub source: Source,
    pub by_name: BTreeMap<String, u64>,
}

impl Offsets {
    pub fn get(&self, dwarf_name: &str) -> Option<u64> {
        self.by_name.get(dwarf_name).copied()
    }

    /// The fields a probe site of `group` needs that this binary lacks.
    pub fn missing_for_site(&self, group: Group) -> Vec<&'static str> {
        let mut m = self.missing(group);
        match group {
            Group::Write => m.extend(self.missing(Group::Http)),
            Group::H2 | Group::H2Internal => m.extend(self.missing(Group::H2Fields)),
            _ => {}
        }
        m
    }

    /// The fields of `group` this binary lacks.
    pub fn missing(&self, group: Group) -> Vec<&'static str> {
        FIELDS.iter().filter(|(_, d, g)| *g == group && self.get(d).is_none()).map(|(_, d, _)| *d).collect()
    }
}

const TABLE: &str = include_str!("offsets_table.json");

/// The pinned table: Go release ("1.26") -> "struct.field" -> offset.
pub fn pinned_table() -> BTreeMap<String, BTreeMap<String, u64>> {
    serde_json::from_str(TABLE).expect("offsets_table.json is valid (checked by a unit test)")
}

/// The Go releases the pinned table covers.
pub fn pinned_releases() -> Vec<String> {
    pinned_table().into_keys().collect()
}

/// The offsets of `release` ("1.26") from the pinned table.
pub fn pinned(release: &str) -> Result<Offsets> {
    let t = pinned_table();
    let Some(m) = t.get(release) else {
        bail!(
            "no pinned struct offsets for Go {release} and the binary has no DWARF (built with -w); supported without DWARF: Go {}",
            pinned_releases().join(", ")
        );
    };
    Ok(Offsets { source: Source::Pinned(release.to_string()), by_name: m.clone() })
}

/// A table entry from a reference build's DWARF, as the generator writes it.
pub fn entry_from_dwarf(file: &object::File) -> Result<BTreeMap<String, u64>> {
    let m = super::dwarf::struct_offsets(file, &wanted_structs())?.context("the reference build has no DWARF")?;
    Ok(FIELDS.iter().filter_map(|(_, d, _)| m.get(*d).map(|v| (d.to_string(), *v))).collect())
}

/// The pinned table with the entries of these reference builds (Go
/// binaries with DWARF, one per release) put in, as `weft ebpf-offsets`
/// prints it; plus one line per build saying what it contributed.
pub fn table_from_builds(paths: &[std::path::PathBuf]) -> Result<(String, Vec<String>)> {
    let mut table = pinned_table();
    let mut notes = Vec::new();
    for path in paths {
        let shown = path.display();
        let data = std::fs::read(path).with_context(|| format!("reading {shown}"))?;
        let file = object::File::parse(&*data).with_context(|| format!("{shown} is not an ELF executable"))?;
        let bi = super::buildinfo::find_and_parse(&data)?.with_context(|| format!("{shown} is not a Go program"))?;
        let (maj, min) = bi.go_release().with_context(|| format!("{shown}: unreadable Go version {:?}", bi.go_version))?;
        let entry = entry_from_dwarf(&file).with_context(|| format!("{shown} (build it without -ldflags=-w)"))?;
        let release = format!("{maj}.{min}");
        let change = match table.get(&release) {
            Some(old) if *old == entry => "unchanged",
            Some(_) => "changed",
            None => "new",
        };
        notes.push(format!("{shown}: {} -> Go {release}, {} fields ({change})", bi.go_version, entry.len()));
        table.insert(release, entry);
    }
    Ok((serde_json::to_string_pretty(&table)? + "\n", notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_has_runtime_fields() {
        let t = pinned_table();
        assert!(!t.is_empty());
        for (rel, m) in &t {
            assert!(m.contains_key("runtime.g.goid"), "{rel} lacks runtime.g.goid");
        }
        let err = pinned("1.0").unwrap_err().to_string();
        assert!(err.contains("supported without DWARF: Go"), "{err}");
    }
}
