//! The build plan of go mode, cached so a warm build skips `go list`.
//!
//! An entry is found by everything the plan reads besides the file tree:
//! the go command line, the working directory, the environment (GO*, CGO_*,
//! CC, CXX, PATH, HOME, XDG_CONFIG_HOME, WEFT_* but WEFT_DEBUG), the wrapped SDK and the
//! weft binary, the rule set (built-in hash and the bytes of WEFT_RULES),
//! and how deep the go command's working directory may be (the marks'
//! `../` patterns, gcflags.rs). It holds stamps (stamp.rs) of the tree it was made from
//! and is used only if they all still match:
//! * every listed package directory that can change (not std, not the
//!   module cache), with its Go files;
//! * the root directory (go.mod, go.sum, vendor/) of every module that can
//!   change, and its vendor/modules.txt;
//! * go.mod, go.work and go.work.sum in the working directory (or `-C`
//!   directory) and all its parents, GOWORK, and the user's go env file;
//! * without CGO_ENABLED, the C compiler (CC, gcc, clang) in each PATH
//!   directory, since cgo defaults to on only where one is found;
//! * for `...` and `all` patterns, every directory under those module roots.
//!
//! A change to a file that can alter the import graph changes one of these
//! stamps. Plans are not cached when `go list` reported errors, when the
//! user passes an overlay or a modfile (inputs outside the tree), or when a
//! stamped file changed less than 2 s before the listing started.

use crate::golist::{Listed, Parsed};
use crate::stamp::Stamper;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Serialize, Deserialize)]
struct Entry {
    /// (path, "f" file or "d" directory, stamp)
    checks: Vec<(PathBuf, String, String)>,
    /// The go command line to run.
    args: Vec<String>,
    /// Files the plan wrote (overlay, link files), rewritten if missing.
    files: Vec<(PathBuf, String)>,
}

/// The entry's file, or None when this command line is never cached.
pub fn entry_path(root: &Path, weft_binary: &str, strs: &[String]) -> Option<PathBuf> {
    let goflags = std::env::var("GOFLAGS").unwrap_or_default();
    let outside = |a: &str| {
        let f = a.trim_start_matches('-');
        f.starts_with("overlay") || f.starts_with("modfile")
    };
    if strs.iter().any(|a| a.starts_with('-') && outside(a)) || goflags.split_whitespace().any(outside) {
        return None;
    }
    let mut h = Sha256::new();
    let mut put = |b: &[u8]| {
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    };
    put(b"plan1");
    put(weft_binary.as_bytes());
    put(root.as_os_str().as_encoded_bytes());
    put(std::env::current_dir().ok()?.as_os_str().as_encoded_bytes());
    for a in strs {
        put(a.as_bytes());
    }
    let mut vars: Vec<_> = std::env::vars_os()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            k.starts_with("GO")
                || k.starts_with("CGO_")
                || (k.starts_with("WEFT_") && k != "WEFT_DEBUG")
                || ["CC", "CXX", "PATH", "HOME", "XDG_CONFIG_HOME"].contains(&k.as_ref())
        })
        .collect();
    vars.sort();
    for (k, v) in &vars {
        put(k.as_encoded_bytes());
        put(v.as_encoded_bytes());
    }
    put(crate::rules::input_hash().ok()?.as_bytes());
    put(&crate::gomode::cwd_depth(strs).to_le_bytes());
    Some(crate::sdk::cache_dir().join("plan").join(hex::encode(&h.finalize()[..16])))
}

/// The cached command line, if the entry exists and its stamps match.
pub fn lookup(entry: &Path) -> Option<Vec<String>> {
    let e: Entry = serde_json::from_slice(&std::fs::read(entry).ok()?).ok()?;
    let mut st = Stamper::default();
    for (path, kind, stamp) in &e.checks {
        let now = if kind == "d" { st.dir(path) } else { st.file(path) };
        if &now != stamp {
            if std::env::var_os("WEFT_DEBUG").is_some_and(|v| !v.is_empty()) {
                eprintln!("weft: build plan: {} changed", path.display());
            }
            return None;
        }
    }
    for (path, text) in &e.files {
        crate::gomode::write_if_changed(path, text).ok()?;
    }
    Some(e.args)
}

/// Stores a plan made by `go list` started at `started`; quietly does
/// nothing when the plan cannot be cached.
pub fn store(entry: &Path, strs: &[String], listed: &[Listed], args: &[String], files: Vec<(PathBuf, String)>, started: SystemTime) {
    if listed.iter().any(|l| l.incomplete) {
        return;
    }
    let Some(p) = crate::golist::parse(strs) else { return };
    let Some(checks) = checks(&p, strs, listed) else { return };
    let mut st = Stamper::default();
    let checks: Vec<(PathBuf, String, String)> = checks
        .into_iter()
        .map(|(path, kind)| {
            let s = if kind == "d" { st.dir(&path) } else { st.file(&path) };
            (path, kind.to_string(), s)
        })
        .collect();
    if !st.settled_before(started) {
        return;
    }
    let e = Entry { checks, args: args.to_vec(), files };
    if let Ok(json) = serde_json::to_string(&e) {
        let _ = crate::sdk::write_atomic(entry, &json);
    }
}

/// What to stamp for a plan over `listed`.
fn checks(p: &Parsed, strs: &[String], listed: &[Listed]) -> Option<Vec<(PathBuf, &'static str)>> {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut roots: BTreeSet<PathBuf> = BTreeSet::new();
    for l in listed {
        if !l.immutable && !l.dir.is_empty() {
            dirs.insert(PathBuf::from(&l.dir));
        }
        if !l.module_root.is_empty() {
            roots.insert(PathBuf::from(&l.module_root));
        }
    }
    for r in &roots {
        dirs.insert(r.clone());
        files.insert(r.join("vendor/modules.txt"));
    }
    let mut cwd = std::env::current_dir().ok()?;
    if let Some((_, _, Some(c), _)) = p.flags.iter().find(|f| f.1 == "C") {
        cwd = cwd.join(c);
    }
    for d in cwd.ancestors() {
        for f in ["go.mod", "go.work", "go.work.sum"] {
            files.insert(d.join(f));
        }
    }
    if let Some(w) = std::env::var_os("GOWORK").filter(|w| !w.is_empty() && w != "off") {
        files.insert(PathBuf::from(w));
    }
    if let Some(f) = crate::sdk::user_go_env() {
        files.insert(f);
    }
    // Without CGO_ENABLED, cgo is on only if the C compiler is on PATH.
    if std::env::var_os("CGO_ENABLED").is_none_or(|v| v.is_empty()) {
        let cc = std::env::var("CC").ok().and_then(|c| c.split_whitespace().next().map(String::from));
        let names: Vec<String> = cc.into_iter().chain(["gcc".to_string(), "clang".to_string()]).collect();
        let path = std::env::var_os("PATH").unwrap_or_default();
        for dir in std::env::split_paths(&path) {
            for n in &names {
                files.insert(dir.join(n));
            }
        }
    }
    let walks = p.pkgs.iter().any(|&i| strs[i].contains("...") || strs[i] == "all");
    if walks {
        for r in &roots {
            walk(r, &mut dirs);
        }
    }
    let mut out: Vec<(PathBuf, &'static str)> = dirs.into_iter().map(|d| (d, "d")).collect();
    out.extend(files.into_iter().map(|f| (f, "f")));
    Some(out)
}

/// Every directory the go command may match with `...` under `dir`.
fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    out.insert(dir.to_path_buf());
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name();
        let n = name.to_string_lossy();
        if e.file_type().is_ok_and(|t| t.is_dir()) && !n.starts_with('.') && !n.starts_with('_') && n != "testdata" && n != "vendor" {
            walk(&e.path(), out);
        }
    }
}
