//! weft.lock: the hash pins of a woven build. `weft lock` writes it next to
//! go.mod; `--locked` (or WEFT_LOCKED=1) checks a build against it and fails
//! with a readable diff when anything drifted. Nothing is re-pinned silently.
//!
//! The pins are computed by weaving each targeted package in memory with
//! the same code the compile shim uses, so locking needs no build. Output
//! hashes are taken with the `//line` directive naming the file by its base
//! name, so they do not depend on where the SDK or the module cache lives.

use crate::golist::Listed;
use crate::gomode::{version_of, Plan};
use crate::package::{self, Source};
use crate::rules::RuleSet;
use crate::sdk::SdkInfo;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub const FILE: &str = "weft.lock";

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Lock {
    pub weft_version: String,
    pub rule_set: String,
    pub go_version: String,
    pub packages: BTreeMap<String, PackagePin>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct PackagePin {
    pub version: String,
    /// rule id -> rule hash
    pub rules: BTreeMap<String, String>,
    /// file name -> its pins
    pub files: BTreeMap<String, FilePin>,
    /// added file name -> sha256
    pub added: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct FilePin {
    pub input: String,
    /// Present when weft rewrote the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Weaves one package in memory and returns its pins.
pub fn pin(l: &Listed, rules: &RuleSet, info: &SdkInfo) -> Result<PackagePin> {
    let version = version_of(l, info);
    let mut sources = Vec::new();
    for f in &l.go_files {
        let p = Path::new(&l.dir).join(f);
        let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        sources.push(Source { path: f.clone(), bytes });
    }
    let allowed: BTreeSet<String> = l.imports.iter().cloned().collect();
    let woven = package::weave(rules, &l.path, Some(&version), &sources, Some(&allowed))?;
    let mut files: BTreeMap<String, FilePin> =
        sources.iter().map(|s| (s.path.clone(), FilePin { input: sha(&s.bytes), output: None })).collect();
    for (idx, bytes) in &woven.rewritten {
        files.get_mut(&sources[*idx].path).unwrap().output = Some(sha(bytes));
    }
    let rule_hashes = rules
        .rules
        .iter()
        .filter(|r| woven.rules.contains(&r.id))
        .map(|r| (r.id.clone(), r.hash.clone()))
        .collect();
    Ok(PackagePin {
        version,
        rules: rule_hashes,
        files,
        added: woven.added.iter().map(|(n, b)| (n.clone(), sha(b))).collect(),
    })
}

/// The lock for a plan's woven packages.
pub fn compute(plan: &Plan, rules: &RuleSet, info: &SdkInfo) -> Result<Lock> {
    let mut packages = BTreeMap::new();
    for (l, _) in &plan.marked {
        packages.insert(l.path.clone(), pin(l, rules, info)?);
    }
    Ok(Lock {
        weft_version: crate::compile::VERSION.to_string(),
        rule_set: rules.hash.clone(),
        go_version: info.go_version.clone(),
        packages,
    })
}

/// weft.lock beside the go.mod above the current directory (or here).
pub fn path() -> Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    let mut dir = cwd.as_path();
    loop {
        if dir.join("go.mod").exists() {
            return Ok(dir.join(FILE));
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => return Ok(cwd.join(FILE)),
        }
    }
}

pub fn write(lock: &Lock, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(lock)? + "\n";
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

pub fn read(path: &Path) -> Result<Lock> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--locked: no {} (write one with `weft lock`)", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))
}

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}

/// Every difference between the pins and the build, one line each.
pub fn diff(want: &Lock, got: &Lock) -> Vec<String> {
    let mut out = Vec::new();
    if want.weft_version != got.weft_version {
        out.push(format!("weft version: {} in weft.lock, {} now", want.weft_version, got.weft_version));
    }
    if want.go_version != got.go_version {
        out.push(format!("Go version: {} in weft.lock, {} now", want.go_version, got.go_version));
    }
    if want.rule_set != got.rule_set {
        out.push(format!("rule set: {} in weft.lock, {} now", short(&want.rule_set), short(&got.rule_set)));
    }
    for (path, g) in &got.packages {
        let Some(w) = want.packages.get(path) else {
            out.push(format!("{path}: woven now, not pinned in weft.lock (run `weft lock`)"));
            continue;
        };
        if w.version != g.version {
            out.push(format!("{path}: version {} in weft.lock, {} now", w.version, g.version));
        }
        for id in w.rules.keys().chain(g.rules.keys()).collect::<BTreeSet<_>>() {
            match (w.rules.get(id), g.rules.get(id)) {
                (Some(a), Some(b)) if a != b => {
                    out.push(format!("{path}: rule {id}: hash {} in weft.lock, {} now", short(a), short(b)))
                }
                (Some(_), None) => out.push(format!("{path}: rule {id}: pinned in weft.lock, not applied now")),
                (None, Some(_)) => out.push(format!("{path}: rule {id}: applied now, not pinned in weft.lock")),
                _ => {}
            }
        }
        let rules: Vec<&str> = g.rules.keys().map(String::as_str).collect();
        for name in w.files.keys().chain(g.files.keys()).collect::<BTreeSet<_>>() {
            match (w.files.get(name), g.files.get(name)) {
                (Some(a), Some(b)) => {
                    if a.input != b.input {
                        out.push(format!(
                            "{path}: file {name}: input sha256 {} in weft.lock, {} now (rules {})",
                            short(&a.input),
                            short(&b.input),
                            rules.join(", ")
                        ));
                    } else if a.output != b.output {
                        out.push(format!(
                            "{path}: file {name}: woven output sha256 {} in weft.lock, {} now (rules {})",
                            a.output.as_deref().map(short).unwrap_or("none"),
                            b.output.as_deref().map(short).unwrap_or("none"),
                            rules.join(", ")
                        ));
                    }
                }
                (Some(_), None) => out.push(format!("{path}: file {name}: pinned in weft.lock, gone now")),
                (None, Some(_)) => out.push(format!("{path}: file {name}: new, not pinned in weft.lock")),
                _ => {}
            }
        }
        for name in w.added.keys().chain(g.added.keys()).collect::<BTreeSet<_>>() {
            if w.added.get(name) != g.added.get(name) {
                out.push(format!(
                    "{path}: added file {name}: sha256 {} in weft.lock, {} now",
                    w.added.get(name).map(|s| short(s)).unwrap_or("none"),
                    g.added.get(name).map(|s| short(s)).unwrap_or("none")
                ));
            }
        }
    }
    out
}

/// `--locked`: fails unless the build's woven packages match weft.lock.
pub fn verify(plan: &Plan, rules: &RuleSet, info: &SdkInfo) -> Result<()> {
    let path = path()?;
    let want = read(&path)?;
    let got = compute(plan, rules, info)?;
    let lines = diff(&want, &got);
    if lines.is_empty() {
        return Ok(());
    }
    bail!(
        "--locked: this build does not match {}:\n  {}\nIf the change is intended, run `weft lock` and commit weft.lock.",
        path.display(),
        lines.join("\n  ")
    )
}
