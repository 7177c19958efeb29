//! `weft inspect BINARY`: what weft wove into a program. Every instrumented
//! program carries a manifest string (weft version, rule-set hash, woven
//! packages and rule ids) in its read-only data, so it survives stripping.

use anyhow::{Context, Result};
use std::path::Path;

pub const BEGIN: &str = "weft-manifest:";
pub const END: &str = ":weft-manifest-end";

/// The manifest JSON, if the binary has one.
pub fn find(bytes: &[u8]) -> Option<serde_json::Value> {
    let begin = BEGIN.as_bytes();
    let end = END.as_bytes();
    let mut from = 0;
    while let Some(i) = find_at(bytes, begin, from) {
        let start = i + begin.len();
        if let Some(j) = find_at(bytes, end, start) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes[start..j]) {
                if v.get("rule_set").is_some() {
                    return Some(v);
                }
            }
        }
        from = start;
    }
    None
}

fn find_at(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

/// Prints the manifest; exit code 1 when the binary was not built with weft.
pub fn run(path: &Path) -> Result<i32> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let Some(m) = find(&bytes) else {
        println!("{}: not built with weft (no weft manifest in the binary)", path.display());
        return Ok(1);
    };
    println!("{}: built with weft {}", path.display(), m["weft"].as_str().unwrap_or("?"));
    println!("rule set: {}", m["rule_set"].as_str().unwrap_or("?"));
    for p in m["packages"].as_array().into_iter().flatten() {
        let rules: Vec<&str> = p["rules"].as_array().into_iter().flatten().filter_map(|r| r.as_str()).collect();
        println!("woven:    {:<28} {}", p["package"].as_str().unwrap_or("?"), rules.join(", "));
    }
    Ok(0)
}
