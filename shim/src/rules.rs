//! The rule set: rule JSON files (serde_json) plus the Go files they add.
//!
//! Built-in rules are embedded from `rules/` at build time; a user folder
//! given by `WEFT_RULES` is loaded on top. The rule-set hash covers both, so a
//! changed rule changes the compiler's `-V=full` line and rebuilds.
//! See rules/README.md for the format.

use crate::embedded;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One rule: what it targets and what it weaves there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    #[serde(default)]
    pub description: String,
    /// Import path of the package to weave (`net/http`).
    pub package: String,
    /// Version requirement (semver syntax, e.g. `>=1.22`) on the module
    /// version, or on the Go version for standard-library packages.
    #[serde(default)]
    pub versions: Option<String>,
    /// Go files added to the package, relative to the rule JSON's folder
    /// (`../shared/x.go` may share one file between rules); added under
    /// their base names.
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub functions: Vec<FuncHook>,
    #[serde(default)]
    pub struct_fields: Vec<StructField>,
    /// Woven only into builds that other rules already instrument (the
    /// runtime's goroutine-local context: never worth a std rebuild alone).
    #[serde(default)]
    pub companion: bool,
    /// Go files added instead when the rule fits the version but cannot be
    /// woven (a changed signature): they keep defined what other packages
    /// link to, as no-ops.
    #[serde(default)]
    pub fallback_files: Vec<String>,
    /// Filled by the loader: the fallback files' names and bytes.
    #[serde(skip)]
    pub fallback_contents: Vec<(String, Vec<u8>)>,
    /// Filled by the loader: the added files' names and bytes.
    #[serde(skip)]
    pub file_contents: Vec<(String, Vec<u8>)>,
    /// Filled by the loader: where the rule came from (for messages).
    #[serde(skip)]
    pub origin: String,
    /// Filled by the loader: sha256 of the rule JSON and its files.
    #[serde(skip)]
    pub hash: String,
}

impl Rule {
    /// True when the rule's code calls weft/rt: a program linking a
    /// package it wove must link weft/rt too (the runtime rule's never does).
    pub fn calls_rt(&self) -> bool {
        self.file_contents.iter().chain(&self.fallback_contents).any(|(_, src)| crate::hookapi::calls_rt(src))
    }
}

/// A trampoline on one function: `before` runs at entry with pointers to the
/// receiver and parameters and returns `(state, ok)`; `after` is deferred when
/// ok and gets the state and pointers to the (named) results.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FuncHook {
    pub func: String,
    /// Receiver type as written in source (`*DB`, `serverHandler`); absent for functions.
    #[serde(default)]
    pub recv: Option<String>,
    /// The pinned signature, e.g. `func(ResponseWriter, *Request)`.
    pub signature: String,
    pub before: String,
    #[serde(default)]
    pub after: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructField {
    #[serde(rename = "struct")]
    pub struct_name: String,
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// All rules, sorted by id, and the hash over them.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub hash: String,
}

impl RuleSet {
    /// The built-in rules plus `WEFT_RULES`, if set, less those
    /// `WEFT_DISABLE_RULES` names.
    pub fn load() -> Result<RuleSet> {
        let user = std::env::var_os("WEFT_RULES").filter(|v| !v.is_empty());
        let mut set = Self::load_with(user.as_deref().map(Path::new))?;
        set.disable(&disabled_ids())?;
        Ok(set)
    }

    /// Drops the rules with these ids; the hash then names them too, so
    /// nothing built with them is reused. A rule with fallback files (the
    /// runtime rule, which weft/rt links to) cannot be dropped.
    pub fn disable(&mut self, ids: &[String]) -> Result<()> {
        for id in ids {
            match self.rules.iter().find(|r| &r.id == id) {
                None => bail!("WEFT_DISABLE_RULES names no rule {id:?} (`weft rules list` shows them)"),
                Some(r) if !r.fallback_files.is_empty() => {
                    bail!("WEFT_DISABLE_RULES: rule {id:?} cannot be disabled: weft's runtime links to what it adds")
                }
                Some(_) => {}
            }
        }
        self.rules.retain(|r| !ids.contains(&r.id));
        self.hash = with_disabled(std::mem::take(&mut self.hash), ids);
        Ok(())
    }

    pub fn load_with(user_dir: Option<&Path>) -> Result<RuleSet> {
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for (path, bytes) in embedded::FILES {
            if let Some(rel) = path.strip_prefix("rules/") {
                files.insert(format!("builtin:{rel}"), bytes.to_vec());
            }
        }
        let mut rules = parse_tree(&files, "builtin:")?;
        let mut hash = embedded::RULESET_HASH.to_string();
        if let Some(dir) = user_dir {
            let user = read_dir_tree(dir)?;
            let prefix = format!("{}/", dir.display());
            let user_rules = parse_tree(&user, &prefix)?;
            hash = user_hash(&user, &prefix);
            rules.extend(user_rules);
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        for w in rules.windows(2) {
            if w[0].id == w[1].id {
                bail!("duplicate rule id {:?} in {} and {}", w[0].id, w[0].origin, w[1].origin);
            }
        }
        Ok(RuleSet { rules, hash })
    }

    /// Rules targeting this import path.
    pub fn for_package<'a>(&'a self, import_path: &'a str) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| r.package == import_path)
    }

    /// The short form used in `compile -V=full`.
    pub fn short_hash(&self) -> &str {
        &self.hash[..16]
    }
}

/// The rule-set hash over the built-in rules and the user folder's files.
fn user_hash(user: &BTreeMap<String, Vec<u8>>, prefix: &str) -> String {
    let mut h = Sha256::new();
    h.update(embedded::RULESET_HASH.as_bytes());
    for (p, b) in user {
        h.update(p.strip_prefix(prefix).unwrap_or(p).as_bytes());
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    }
    hex::encode(h.finalize())
}

/// The rule ids `WEFT_DISABLE_RULES` names (separated by commas or
/// spaces), sorted and without repeats.
fn disabled_ids() -> Vec<String> {
    let v = std::env::var("WEFT_DISABLE_RULES").unwrap_or_default();
    let ids: BTreeSet<String> = v.split([',', ' ']).filter(|s| !s.is_empty()).map(String::from).collect();
    ids.into_iter().collect()
}

/// The rule-set hash once the rules `ids` are disabled.
fn with_disabled(hash: String, ids: &[String]) -> String {
    if ids.is_empty() {
        return hash;
    }
    let mut h = Sha256::new();
    h.update(hash.as_bytes());
    h.update(b"\ndisabled:");
    h.update(ids.join(",").as_bytes());
    hex::encode(h.finalize())
}

/// The rule-set hash `RuleSet::load` would give, from the bytes alone
/// (nothing parsed): what a cached build plan is keyed by.
pub fn input_hash() -> Result<String> {
    let hash = match std::env::var_os("WEFT_RULES").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = Path::new(&dir);
            user_hash(&read_dir_tree(dir)?, &format!("{}/", dir.display()))
        }
        None => embedded::RULESET_HASH.to_string(),
    };
    Ok(with_disabled(hash, &disabled_ids()))
}

/// Reads every file below `dir`, keyed by `dir/rel` path.
fn read_dir_tree(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    fn walk(dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
        let rd = std::fs::read_dir(dir).with_context(|| format!("reading rule folder {}", dir.display()))?;
        for e in rd {
            let p = e?.path();
            if p.is_dir() {
                walk(&p, out)?;
            } else {
                out.insert(p.display().to_string(), std::fs::read(&p)?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out)?;
    Ok(out)
}

/// Parses every `*.json` in the tree as a rule; `files` are looked up beside it.
fn parse_tree(files: &BTreeMap<String, Vec<u8>>, prefix: &str) -> Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for (path, bytes) in files {
        if !path.ends_with(".json") {
            continue;
        }
        let shown = path.strip_prefix("builtin:").map(|p| format!("rules/{p}")).unwrap_or(path.clone());
        let mut rule: Rule = serde_json::from_slice(bytes).map_err(|e| {
            anyhow::anyhow!("{}:{}:{}: invalid rule: {}", shown, e.line(), e.column(), strip_pos(&e.to_string()))
        })?;
        let dir = match path.rfind('/') {
            Some(i) => &path[..=i],
            None => prefix,
        };
        let mut h = Sha256::new();
        h.update(bytes);
        // The Go files a rule names sit beside it; they are part of its hash.
        let mut beside = |names: &[String]| -> Result<Vec<(String, Vec<u8>)>> {
            names
                .iter()
                .map(|f| {
                    let key = resolve(dir, f, prefix).with_context(|| {
                        format!("{shown}: rule {:?} names file {:?}, which is outside the rule folder", rule.id, f)
                    })?;
                    let content = files.get(&key).with_context(|| {
                        format!("{shown}: rule {:?} names file {:?}, which does not exist", rule.id, f)
                    })?;
                    h.update(f.as_bytes());
                    h.update(content);
                    let base = f.rsplit('/').next().unwrap_or(f);
                    Ok((base.to_string(), content.clone()))
                })
                .collect()
        };
        let file_contents = beside(&rule.files)?;
        let fallback_contents = beside(&rule.fallback_files)?;
        rule.file_contents = file_contents;
        rule.fallback_contents = fallback_contents;
        validate(&rule).with_context(|| format!("{shown}: rule {:?}", rule.id))?;
        rule.hash = hex::encode(h.finalize());
        rule.origin = shown;
        rules.push(rule);
    }
    Ok(rules)
}

/// The tree key of `name` (relative to the rule's folder `dir`, `..`
/// allowed) as long as it stays within the tree rooted at `root`.
fn resolve(dir: &str, name: &str, root: &str) -> Option<String> {
    let rel = dir.strip_prefix(root)?;
    let mut parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    for seg in name.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(format!("{root}{}", parts.join("/")))
}

fn strip_pos(msg: &str) -> &str {
    msg.rfind(" at line ").map(|i| &msg[..i]).unwrap_or(msg)
}

fn validate(rule: &Rule) -> Result<()> {
    if rule.id.is_empty() || rule.package.is_empty() {
        bail!("id and package must not be empty");
    }
    let mut names = BTreeSet::new();
    for (name, _) in rule.file_contents.iter().chain(&rule.fallback_contents) {
        if !name.ends_with(".go") || !names.insert(name.as_str()) {
            bail!("file {name:?} is not a .go file or is named twice (files are added under their base names)");
        }
    }
    if let Some(v) = &rule.versions {
        semver::VersionReq::parse(v).with_context(|| format!("versions {v:?} is not a version requirement"))?;
    }
    for f in &rule.functions {
        if f.func.is_empty() || f.before.is_empty() {
            bail!("a function hook needs func and before");
        }
        crate::weave::parse_signature(&f.signature)
            .with_context(|| format!("signature {:?} of {} does not parse as a Go func type", f.signature, f.func))?;
    }
    Ok(())
}

/// Parses a Go version (`go1.26.8`, `go1.22`, `go1.23rc1`) or a module version
/// (`v1.2.3`, `v2.0.0+incompatible`) into semver.
pub fn parse_version(v: &str) -> Option<semver::Version> {
    let v = v.trim();
    if let Some(go) = v.strip_prefix("go") {
        let (num, pre) = match go.find(|c: char| c.is_ascii_alphabetic()) {
            Some(i) => (&go[..i], Some(&go[i..])),
            None => (go, None),
        };
        let mut parts: Vec<&str> = num.split('.').collect();
        while parts.len() < 3 {
            parts.push("0");
        }
        let mut s = parts[..3].join(".");
        if let Some(p) = pre {
            s.push('-');
            s.push_str(p);
        }
        return semver::Version::parse(&s).ok();
    }
    semver::Version::parse(v.strip_prefix('v').unwrap_or(v)).ok()
}

impl Rule {
    /// Whether this rule applies to the given version (None: unknown, which
    /// matches only rules without a version requirement).
    pub fn matches_version(&self, version: Option<&str>) -> bool {
        let Some(req) = &self.versions else { return true };
        let Ok(req) = semver::VersionReq::parse(req) else { return false };
        let Some(v) = version.and_then(parse_version) else { return false };
        // Compare without pre-release/build tags: a +incompatible or rc still counts.
        let plain = semver::Version::new(v.major, v.minor, v.patch);
        req.matches(&plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_versions_parse() {
        assert_eq!(parse_version("go1.26.8").unwrap().to_string(), "1.26.8");
        assert_eq!(parse_version("go1.22").unwrap().to_string(), "1.22.0");
        assert_eq!(parse_version("go1.23rc1").unwrap().to_string(), "1.23.0-rc1");
        assert_eq!(parse_version("v2.1.0+incompatible").unwrap().major, 2);
        assert!(parse_version("banana").is_none());
    }

    #[test]
    fn builtin_rules_load() {
        let rs = RuleSet::load_with(None).unwrap();
        assert!(rs.rules.iter().any(|r| r.package == "net/http"));
        assert_eq!(rs.hash.len(), 64);
    }

    #[test]
    fn rules_can_be_disabled_by_id() {
        let all = RuleSet::load_with(None).unwrap();
        let mut rs = all.clone();
        rs.disable(&["otel.bridge".into(), "zap".into()]).unwrap();
        assert_eq!(rs.rules.len(), all.rules.len() - 2);
        assert!(!rs.rules.iter().any(|r| r.id == "otel.bridge" || r.id == "zap"));
        assert_ne!(rs.hash, all.hash, "a build without them is cached apart");
        assert_eq!(rs.hash.len(), 64);

        let err = all.clone().disable(&["otel".into()]).unwrap_err().to_string();
        assert!(err.contains("names no rule \"otel\""), "{err}");
        let err = all.clone().disable(&["goroutine".into()]).unwrap_err().to_string();
        assert!(err.contains("cannot be disabled"), "{err}");
    }

    #[test]
    fn shared_files_resolve_within_the_tree() {
        assert_eq!(resolve("builtin:redigo/", "../shared/redis/cmd.go", "builtin:").unwrap(), "builtin:shared/redis/cmd.go");
        assert_eq!(resolve("/u/a/", "./x.go", "/u/").unwrap(), "/u/a/x.go");
        assert!(resolve("builtin:redigo/", "../../etc/x.go", "builtin:").is_none());
        let rs = RuleSet::load_with(None).unwrap();
        let redigo = rs.rules.iter().find(|r| r.id == "redigo").unwrap();
        assert!(redigo.file_contents.iter().any(|(n, _)| n == "rediscmd.go"));
    }

    #[test]
    fn a_user_rule_cannot_reach_outside_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.json"), r#"{"id":"x","package":"p","files":["../x.go"]}"#).unwrap();
        let err = format!("{:#}", RuleSet::load_with(Some(dir.path())).unwrap_err());
        assert!(err.contains("outside the rule folder"), "{err}");
    }

    #[test]
    fn hash_from_bytes_matches_the_loaded_set() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/rules/greet");
        let loaded = RuleSet::load_with(Some(&dir)).unwrap();
        let from_bytes = user_hash(&read_dir_tree(&dir).unwrap(), &format!("{}/", dir.display()));
        assert_eq!(loaded.hash, from_bytes);
        assert_ne!(loaded.hash, embedded::RULESET_HASH);
        assert_eq!(RuleSet::load_with(None).unwrap().hash, embedded::RULESET_HASH);
    }

    #[test]
    fn bad_json_names_file_line_col() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.json"), "{\n  \"id\": \"x\",\n  \"package\": 3\n}\n").unwrap();
        let err = RuleSet::load_with(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("bad.json:3:"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
    }
}
