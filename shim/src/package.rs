//! Weaving one package, as a pure function of its source bytes, its
//! version, the imports it may use and the rule set. The compile shim
//! writes the result beside `-o`; `weft lock` and `--locked` hash it.

use crate::rules::{Rule, RuleSet, StructField};
use crate::weave::{self, HookRef};
use anyhow::{Context, Result};
use std::collections::BTreeSet;

/// One Go file of the package: its path as the compiler is given it
/// (absolute, for the `//line` directive) and its bytes.
pub struct Source {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// What weaving produced.
#[derive(Debug, Default)]
pub struct Woven {
    /// Ids of the rules applied, sorted.
    pub rules: Vec<String>,
    /// (index into the sources, rewritten bytes)
    pub rewritten: Vec<(usize, Vec<u8>)>,
    /// Files added to the package: (file name, bytes).
    pub added: Vec<(String, Vec<u8>)>,
    /// One line each: rules that did not fit and why.
    pub warnings: Vec<String>,
    /// A file did not parse: nothing was woven, so the real compiler can
    /// report the user's own error.
    pub syntax_error: bool,
}

impl Woven {
    /// Whether anything was woven (or a fallback file added).
    pub fn applied(&self) -> bool {
        !self.rules.is_empty() || !self.added.is_empty()
    }
}

/// Weaves the rules targeting `pkg`. `allowed` is what the package imports
/// (from its importcfg), if known.
pub fn weave(
    rules: &RuleSet,
    pkg: &str,
    version: Option<&str>,
    sources: &[Source],
    allowed: Option<&BTreeSet<String>>,
) -> Result<Woven> {
    let mut warnings = Vec::new();
    let mut chosen: Vec<&Rule> = Vec::new();
    let mut failed: Vec<&Rule> = Vec::new();
    // A version mismatch is worth a line only when no rule for the package
    // fits (version-specific variants of one rule are expected to miss).
    let any_fits = rules.for_package(pkg).any(|r| r.matches_version(version));
    for r in rules.for_package(pkg) {
        if !r.matches_version(version) {
            if any_fits {
                continue;
            }
            warnings.push(format!(
                "weft: rule {} wants {} {}, found {}; not instrumented",
                r.id,
                pkg,
                r.versions.as_deref().unwrap_or("any"),
                version.unwrap_or("an unknown version")
            ));
        } else if let Err(e) = imports_fit(r, allowed) {
            warnings.push(format!("weft: rule {}: {e}; not instrumented", r.id));
            failed.push(r);
        } else {
            chosen.push(r);
        }
    }
    let has_context = allowed.is_none_or(|a| a.contains("context"));
    // A rule applies whole or not at all: drop incomplete ones and retry.
    loop {
        if chosen.is_empty() {
            let mut woven = Woven { warnings, ..Default::default() };
            add_fallbacks(&mut woven, &failed);
            return Ok(woven);
        }
        let Some(attempt) = try_weave(&chosen, sources)? else {
            return Ok(Woven { syntax_error: true, ..Default::default() });
        };
        let (mut woven, incomplete) = attempt;
        if incomplete.is_empty() {
            woven.warnings.splice(0..0, warnings);
            add_files(&mut woven, &chosen, sources, has_context)?;
            add_fallbacks(&mut woven, &failed);
            return Ok(woven);
        }
        for (id, why) in incomplete.iter().filter(|(_, why)| !why.is_empty()) {
            warnings.push(format!("weft: rule {id}: {pkg}: {why}; not instrumented"));
        }
        warnings.extend(woven.warnings);
        failed.extend(chosen.iter().filter(|r| incomplete.iter().any(|(id, _)| *id == r.id)));
        chosen.retain(|r| !incomplete.iter().any(|(id, _)| *id == r.id));
    }
}

fn imports_fit(rule: &Rule, allowed: Option<&BTreeSet<String>>) -> Result<()> {
    let Some(allowed) = allowed else { return Ok(()) };
    for (name, bytes) in &rule.file_contents {
        for imp in weave::imports(bytes).with_context(|| format!("{name} does not parse"))? {
            if imp != "unsafe" && !allowed.contains(&imp) {
                anyhow::bail!("{name} imports {imp:?}, which the package does not import");
            }
        }
    }
    Ok(())
}

/// Weaves every file; returns the result and the rules that did not fully
/// apply (id, reason). None when a file does not parse.
#[allow(clippy::type_complexity)]
fn try_weave(chosen: &[&Rule], sources: &[Source]) -> Result<Option<(Woven, Vec<(String, String)>)>> {
    let hooks: Vec<HookRef> =
        chosen.iter().flat_map(|r| r.functions.iter().map(move |h| HookRef { rule_id: &r.id, hook: h })).collect();
    let fields: Vec<(&str, &StructField)> =
        chosen.iter().flat_map(|r| r.struct_fields.iter().map(move |f| (r.id.as_str(), f))).collect();
    let field_refs: Vec<&StructField> = fields.iter().map(|(_, f)| *f).collect();
    let mut woven = Woven::default();
    let mut applied = BTreeSet::new();
    let mut mismatched = BTreeSet::new();
    let mut fields_added = BTreeSet::new();
    for (idx, src) in sources.iter().enumerate() {
        let res = weave::weave_file(&src.bytes, &src.path, &hooks, &field_refs);
        if res.syntax_error {
            return Ok(None);
        }
        woven.warnings.extend(res.warnings);
        applied.extend(res.applied);
        mismatched.extend(res.mismatched);
        fields_added.extend(res.fields_added);
        if let Some(out) = res.output {
            woven.rewritten.push((idx, out));
        }
    }
    let mut incomplete = Vec::new();
    for r in chosen {
        let ours = |i: &usize, h: &HookRef| h.rule_id == r.id && !applied.contains(i);
        let changed = hooks.iter().enumerate().any(|(i, h)| ours(&i, h) && mismatched.contains(&i));
        let missing: Vec<&str> = hooks
            .iter()
            .enumerate()
            .filter(|(i, h)| ours(i, h) && !mismatched.contains(i))
            .map(|(_, h)| h.hook.func.as_str())
            .collect();
        let missing_field = fields.iter().enumerate().any(|(i, (id, _))| *id == r.id && !fields_added.contains(&i));
        if changed && missing.is_empty() {
            // Already said, one line per changed function.
            incomplete.push((r.id.clone(), String::new()));
        } else if !missing.is_empty() {
            incomplete.push((r.id.clone(), format!("functions not found: {}", missing.join(", "))));
        } else if missing_field {
            incomplete.push((r.id.clone(), "a struct it extends was not found".to_string()));
        } else {
            woven.rules.push(r.id.clone());
        }
    }
    woven.rules.sort();
    Ok(Some((woven, incomplete)))
}

/// The rules' own files, then the generated API file.
fn add_files(woven: &mut Woven, chosen: &[&Rule], sources: &[Source], has_context: bool) -> Result<()> {
    for r in chosen {
        for (name, bytes) in &r.file_contents {
            woven.added.push((format!("weft_{}_{}", sanitize(&r.id), name), bytes.clone()));
        }
    }
    let first = sources.first().context("no Go files to weave")?;
    let name = weave::package_name(&first.bytes).context("no package clause")?;
    woven.added.push(("zz_weft_api.go".to_string(), crate::hookapi::source(&name, has_context).into_bytes()));
    Ok(())
}

/// The fallback files of every rule for `pkg` that fits `version`: what
/// the package gets when its woven form does not compile.
pub fn fallbacks(rules: &RuleSet, pkg: &str, version: Option<&str>) -> Vec<(String, Vec<u8>)> {
    let mut woven = Woven::default();
    add_fallbacks(&mut woven, &rules.for_package(pkg).filter(|r| r.matches_version(version)).collect::<Vec<_>>());
    woven.added
}

/// Fallback files of rules that fit the version but could not be woven.
fn add_fallbacks(woven: &mut Woven, failed: &[&Rule]) {
    for r in failed {
        for (name, bytes) in &r.fallback_contents {
            woven.added.push((format!("weft_{}_{}", sanitize(&r.id), name), bytes.clone()));
        }
    }
}

fn sanitize(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}
