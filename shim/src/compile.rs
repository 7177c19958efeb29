//! The compile shim: installed as `pkg/tool/<os>_<arch>/compile` in a
//! wrapped SDK, with the real compiler beside it as `compile.real`.
//!
//! The go command and rules_go call it once per package. Unless the
//! package carries go mode's marker file (or WEFT_WEAVE_ALL is set) and a
//! rule targets it, it execs the real compiler untouched: `-V=full` too,
//! so untouched packages share build-cache entries with plain go. Otherwise it
//! weaves the package's files, writes them beside `-o` (a directory the
//! build already trims, so no path leaks into the binary) and runs the real
//! compiler on them.

use crate::rules::{Rule, RuleSet, StructField};
use crate::weave::{self, HookRef};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Entry point when argv[0] is `.../compile`.
pub fn main(argv0: OsString, args: Vec<OsString>) -> ! {
    let real = real_compiler(Path::new(&argv0));
    match run(args.clone()) {
        Ok(Some(new_args)) => exec(&argv0, &real, new_args),
        Ok(None) => exec(&argv0, &real, args),
        Err(e) => {
            eprintln!("weft: {e:#}");
            std::process::exit(2);
        }
    }
}

fn exec(argv0: &OsString, real: &Path, args: Vec<OsString>) -> ! {
    // argv[0] stays `.../compile`: the go command checks the name in `-V=full`.
    let err = Command::new(real).arg0(argv0).args(args).exec();
    eprintln!("weft: cannot run the real compiler {}: {err}", real.display());
    std::process::exit(2);
}

/// `compile.real` beside argv[0] (not /proc/self/exe: Bazel sandboxes are
/// per-file symlinks), else beside the resolved path.
fn real_compiler(argv0: &Path) -> PathBuf {
    let beside = argv0.with_file_name("compile.real");
    if beside.exists() {
        return beside;
    }
    std::fs::canonicalize(argv0).map(|p| p.with_file_name("compile.real")).unwrap_or(beside)
}

/// Returns new arguments when the package was woven, None to pass through.
fn run(args: Vec<OsString>) -> Result<Option<Vec<OsString>>> {
    let args = expand_response_files(args)?;
    let inv = Invocation::parse(&args);
    let Some(pkg) = inv.package.as_deref() else { return Ok(None) };
    // Weave only packages go mode marked (their cache keys differ from a
    // plain build's), or everything when a build system asks for it.
    let marked = inv.files.iter().any(|f| f.ends_with(crate::gomode::MARKER_FILE));
    if !marked && std::env::var_os("WEFT_WEAVE_ALL").is_none_or(|v| v.is_empty()) {
        return Ok(None);
    }
    let rules = RuleSet::load()?;
    if rules.for_package(pkg).next().is_none() {
        return Ok(None);
    }
    let version = inv.version();
    let mut chosen: Vec<&Rule> = Vec::new();
    for r in rules.for_package(pkg) {
        if r.matches_version(version.as_deref()) {
            chosen.push(r);
        } else {
            eprintln!(
                "weft: rule {} wants {} {}, found {}; not instrumented",
                r.id,
                pkg,
                r.versions.as_deref().unwrap_or("any"),
                version.as_deref().unwrap_or("an unknown version")
            );
        }
    }
    // Added files may only import what the package already imports.
    let allowed = inv.importcfg_packages();
    chosen.retain(|r| match imports_fit(r, &allowed) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("weft: rule {}: {e}; not instrumented", r.id);
            false
        }
    });
    if chosen.is_empty() {
        return Ok(None);
    }
    let has_context = allowed.as_ref().is_none_or(|a| a.contains("context"));
    let woven = weave_package(&inv, &chosen, has_context)?;
    Ok(woven)
}

fn imports_fit(rule: &Rule, allowed: &Option<BTreeSet<String>>) -> Result<()> {
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

/// Weaves the chosen rules into the package; None when nothing applied.
fn weave_package(inv: &Invocation, chosen: &[&Rule], has_context: bool) -> Result<Option<Vec<OsString>>> {
    let hooks: Vec<HookRef> =
        chosen.iter().flat_map(|r| r.functions.iter().map(move |h| HookRef { rule_id: &r.id, hook: h })).collect();
    let fields: Vec<&StructField> = chosen.iter().flat_map(|r| r.struct_fields.iter()).collect();
    let out_dir = inv.output_dir().join("weft");
    let mut new_files: Vec<(usize, PathBuf)> = Vec::new();
    let mut applied = BTreeSet::new();
    let mut fields_added = BTreeSet::new();
    for (idx, file) in inv.files.iter().enumerate() {
        let path = Path::new(file);
        let src = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let abs = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
        let res = weave::weave_file(&src, &abs.to_string_lossy(), &hooks, &fields);
        if res.syntax_error {
            // Let the real compiler report the user's own syntax error.
            return Ok(None);
        }
        for w in &res.warnings {
            eprintln!("{w}");
        }
        applied.extend(res.applied);
        fields_added.extend(res.fields_added);
        if let Some(bytes) = res.output {
            let name = path.file_name().unwrap_or_default();
            let dest = out_dir.join(name);
            write(&dest, &bytes)?;
            new_files.push((idx, dest));
        }
    }
    // A rule whose functions or fields were not all found is dropped whole:
    // its added files would reference hooks that are never called, or fields
    // that do not exist.
    let mut args = inv.args.clone();
    for (idx, dest) in &new_files {
        args[inv.file_start + idx] = dest.clone().into_os_string();
    }
    let mut complete = Vec::new();
    for r in chosen {
        let hook_ids: Vec<usize> =
            hooks.iter().enumerate().filter(|(_, h)| h.rule_id == r.id).map(|(i, _)| i).collect();
        let field_ids: Vec<usize> = fields
            .iter()
            .enumerate()
            .filter(|(_, f)| r.struct_fields.iter().any(|rf| std::ptr::eq(rf, **f)))
            .map(|(i, _)| i)
            .collect();
        let missing_hooks: Vec<&str> =
            hook_ids.iter().filter(|i| !applied.contains(i)).map(|&i| hooks[i].hook.func.as_str()).collect();
        let missing_fields = field_ids.iter().any(|i| !fields_added.contains(i));
        if missing_hooks.is_empty() && !missing_fields {
            complete.push(*r);
        } else if !missing_hooks.is_empty() {
            eprintln!("weft: rule {}: {} not instrumented (functions not found or changed: {})", r.id, inv.package.as_deref().unwrap_or(""), missing_hooks.join(", "));
        } else {
            eprintln!("weft: rule {}: a struct it extends was not found; not instrumented", r.id);
        }
    }
    if complete.len() != chosen.len() {
        // Re-weave with only the complete rules, so nothing half-applied is compiled.
        if complete.is_empty() {
            return Ok(None);
        }
        return weave_package(inv, &complete, has_context);
    }
    for r in chosen {
        for (name, bytes) in &r.file_contents {
            let dest = out_dir.join(format!("weft_{}_{}", sanitize(&r.id), name));
            write(&dest, bytes)?;
            args.push(dest.into_os_string());
        }
    }
    let first = inv.files.first().context("no Go files to weave")?;
    let name = weave::package_name(&std::fs::read(first)?).context("no package clause")?;
    let api = out_dir.join("zz_weft_api.go");
    write(&api, crate::hookapi::source(&name, has_context).as_bytes())?;
    args.push(api.into_os_string());
    Ok(Some(args))
}

fn sanitize(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

fn write(dest: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(d) = dest.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    std::fs::write(dest, bytes).with_context(|| format!("writing {}", dest.display()))
}

/// Expands `@file` arguments (one argument per line, as the go command and
/// rules_go write them; a quoted line is a Go string literal).
fn expand_response_files(args: Vec<OsString>) -> Result<Vec<OsString>> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        let s = a.to_string_lossy();
        if let Some(file) = s.strip_prefix('@') {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading response file {file}"))?;
            for line in text.lines() {
                if line.starts_with('"') {
                    out.push(OsString::from(unquote(line)));
                } else {
                    out.push(OsString::from(line));
                }
            }
        } else {
            out.push(a);
        }
    }
    Ok(out)
}

/// Undoes Go's strconv.Quote for the escapes the go command writes.
fn unquote(s: &str) -> String {
    let inner = &s[1..s.len().saturating_sub(1).max(1)];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => {}
        }
    }
    out
}

/// The parts of a compile command line weft needs.
#[derive(Debug, Default)]
pub struct Invocation {
    pub args: Vec<OsString>,
    pub package: Option<String>,
    pub output: Option<String>,
    pub importcfg: Option<String>,
    pub trimpath: Option<String>,
    pub goversion: Option<String>,
    pub std: bool,
    pub files: Vec<String>,
    pub file_start: usize,
}

impl Invocation {
    pub fn parse(args: &[OsString]) -> Invocation {
        let strs: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let mut inv = Invocation { args: args.to_vec(), ..Default::default() };
        // Files: everything after `--`, else the trailing run of *.go arguments.
        inv.file_start = match strs.iter().position(|a| a == "--") {
            Some(i) => i + 1,
            None => {
                let mut i = strs.len();
                while i > 0 && strs[i - 1].ends_with(".go") && !strs[i - 1].starts_with('-') {
                    i -= 1;
                }
                i
            }
        };
        inv.files = strs[inv.file_start..].to_vec();
        let mut i = 0;
        while i < inv.file_start {
            let a = strs[i].trim_start_matches('-');
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) => (f, Some(v.to_string())),
                None => (a, None),
            };
            let takes = matches!(flag, "p" | "o" | "importcfg" | "trimpath" | "goversion");
            let value = if takes && inline.is_none() {
                i += 1;
                strs.get(i).cloned()
            } else {
                inline
            };
            match flag {
                "p" => inv.package = value,
                "o" => inv.output = value,
                "importcfg" => inv.importcfg = value,
                "trimpath" => inv.trimpath = value,
                "goversion" => inv.goversion = value,
                "std" => inv.std = true,
                _ => {}
            }
            i += 1;
        }
        inv
    }

    /// The directory of `-o`, where woven files go.
    pub fn output_dir(&self) -> PathBuf {
        self.output
            .as_deref()
            .and_then(|o| Path::new(o).parent())
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// The Go version for std packages, the module version otherwise.
    pub fn version(&self) -> Option<String> {
        if self.std {
            return self.goversion.clone().or_else(go_version_from_goroot);
        }
        // Module-cache sources: .../mod/<module>@<version>/...
        let hay = self.files.first().cloned().unwrap_or_default();
        let from_trim = self.trimpath.clone().unwrap_or_default();
        for s in [hay.as_str(), from_trim.as_str()] {
            if let Some(at) = s.find('@') {
                let rest = &s[at + 1..];
                let end = rest.find(['/', ';', '=']).unwrap_or(rest.len());
                return Some(rest[..end].to_string());
            }
        }
        None
    }

    /// Import paths listed in the importcfg (`packagefile path=...`).
    pub fn importcfg_packages(&self) -> Option<BTreeSet<String>> {
        let text = std::fs::read_to_string(self.importcfg.as_ref()?).ok()?;
        Some(
            text.lines()
                .filter_map(|l| l.strip_prefix("packagefile "))
                .filter_map(|l| l.split_once('=').map(|(p, _)| p.to_string()))
                .collect(),
        )
    }
}

fn go_version_from_goroot() -> Option<String> {
    let root = std::env::var_os("GOROOT")?;
    let text = std::fs::read_to_string(Path::new(&root).join("VERSION")).ok()?;
    text.lines().next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_go_command_line() {
        let inv = Invocation::parse(&os(&[
            "-o", "/w/b001/_pkg_.a", "-trimpath", "/w/b001=>", "-p", "net/http", "-std", "-complete",
            "-goversion", "go1.26.8", "-importcfg", "/w/b001/importcfg", "-pack", "./a.go", "/x/b.go",
        ]));
        assert_eq!(inv.package.as_deref(), Some("net/http"));
        assert_eq!(inv.files, ["./a.go", "/x/b.go"]);
        assert_eq!(inv.output_dir(), PathBuf::from("/w/b001"));
        assert_eq!(inv.version().as_deref(), Some("go1.26.8"));
    }

    #[test]
    fn parses_rules_go_command_line() {
        let inv = Invocation::parse(&os(&[
            "-p=github.com/x/y", "-o=out/y.a", "-trimpath=/ex", "--", "/m/github.com/x/y@v1.2.3/y.go",
        ]));
        assert_eq!(inv.package.as_deref(), Some("github.com/x/y"));
        assert_eq!(inv.files.len(), 1);
        assert_eq!(inv.version().as_deref(), Some("v1.2.3"));
    }

    #[test]
    fn unquotes_response_lines() {
        assert_eq!(unquote("\"a\\\"b\\\\c\""), "a\"b\\c");
    }
}
