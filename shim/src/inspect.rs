//! `weft inspect BINARY`: what weft wove into a program. Every instrumented
//! program carries a manifest string (weft version, rule-set hash, woven
//! packages, their rule ids and hook names) in its read-only data, so it
//! survives stripping. The manifest is written when the build is planned,
//! before anything compiles, so a package is shown as woven only when one
//! of its hooks is named in the binary too: in the Go function-name table
//! (pclntab), which keeps inlined functions' names and survives stripping.
//! A package that fell back to its plain form when compiling has none.

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
    memchr::memmem::find(hay.get(from..)?, needle).map(|i| i + from)
}

/// How the linker spells a package path in symbol names
/// (cmd/internal/objabi.PathToPrefix): '.' in the last element, '%', '"',
/// spaces, control and non-ASCII bytes become %xx.
fn symbol_prefix(path: &str) -> String {
    let last_slash = path.rfind('/').map_or(0, |i| i + 1);
    let mut out = String::with_capacity(path.len());
    for (i, b) in path.bytes().enumerate() {
        if b <= b' ' || b == b'%' || b == b'"' || b >= 0x7f || (b == b'.' && i >= last_slash) {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// Whether one of the package's hooks is named in the binary; None when
/// the manifest lists none (an older weft wrote it, or the rules only add
/// struct fields).
fn hooks_linked(bytes: &[u8], package: &serde_json::Value) -> Option<bool> {
    let hooks: Vec<&str> = package["hooks"].as_array()?.iter().filter_map(|h| h.as_str()).collect();
    if hooks.is_empty() {
        return None;
    }
    let prefix = symbol_prefix(package["package"].as_str()?);
    Some(hooks.iter().any(|h| find_at(bytes, format!("{prefix}.{h}\0").as_bytes(), 0).is_some()))
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
    let mut absent = false;
    for p in m["packages"].as_array().into_iter().flatten() {
        let rules: Vec<&str> = p["rules"].as_array().into_iter().flatten().filter_map(|r| r.as_str()).collect();
        let what = if hooks_linked(&bytes, p) == Some(false) {
            absent = true;
            "not in: "
        } else {
            "woven:  "
        };
        println!("{what}  {:<28} {}", p["package"].as_str().unwrap_or("?"), rules.join(", "));
    }
    if absent {
        println!("(\"not in\": none of the package's hooks is in the binary. Either it failed to compile woven and was built plain \
                  (the build printed a weft: line saying why), or none of its instrumented functions is used by the program.)");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_prefix_escapes_as_the_linker_does() {
        assert_eq!(symbol_prefix("net/http"), "net/http");
        assert_eq!(symbol_prefix("gopkg.in/yaml.v3"), "gopkg.in/yaml%2ev3");
        assert_eq!(symbol_prefix("go.uber.org/zap/zapcore"), "go.uber.org/zap/zapcore");
        assert_eq!(symbol_prefix("example.com/a%b"), "example.com/a%25b");
    }

    #[test]
    fn a_package_is_linked_when_one_hook_is_named() {
        let p = serde_json::json!({ "package": "gopkg.in/x.v1", "hooks": ["weftA", "weftB"] });
        assert_eq!(hooks_linked(b"..gopkg.in/x%2ev1.weftB\0..", &p), Some(true));
        assert_eq!(hooks_linked(b"..gopkg.in/x%2ev1.weftBee\0..", &p), Some(false));
        assert_eq!(hooks_linked(b"..gopkg.in/x.v1.weftB\0..", &p), Some(false));
        assert_eq!(hooks_linked(b"", &serde_json::json!({ "package": "p" })), None);
    }
}
