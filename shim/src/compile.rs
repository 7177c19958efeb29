//! The compile shim: installed as `pkg/tool/<os>_<arch>/compile` in a
//! wrapped SDK, with the real compiler beside it as `compile.real` (and as
//! `asm`, `cgo`, `link`, `cover` and `vet`, which answer `-V=full` from a
//! cache; see [`crate::overlaid`] for cover and vet).
//!
//! The go command and rules_go call it once per package. Unless the
//! package carries go mode's mark (or WEFT_WEAVE_ALL is set) and a
//! rule targets it, it execs the real compiler untouched: `-V=full` too,
//! so untouched packages share build-cache entries with plain go. Otherwise it
//! weaves the package's files, writes them beside `-o` (a directory the
//! build already trims, so no path leaks into the binary) and runs the real
//! compiler on them.

use crate::package::{self, Source};
use crate::rules::RuleSet;
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Entry point when argv[0] is `.../compile`.
pub fn main(argv0: OsString, args: Vec<OsString>) -> ! {
    let real = real_tool(Path::new(&argv0));
    if args.len() == 1 && args[0] == "-V=full" {
        version_full(&argv0, &real);
    }
    if passthrough(&args) {
        exec(&argv0, &real, args);
    }
    match run(args.clone()) {
        Ok(Some(woven)) => compile_or_fall_back(&argv0, &real, woven),
        Ok(None) => exec(&argv0, &real, args),
        Err(e) => {
            eprintln!("weft: {e:#}");
            std::process::exit(2);
        }
    }
}

/// True when the package cannot be woven, found without parsing anything:
/// no mark in the arguments or their response files, and no WEFT_WEAVE_ALL.
fn passthrough(args: &[OsString]) -> bool {
    if std::env::var_os("WEFT_WEAVE_ALL").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    let has_mark = |b: &[u8]| b.windows(crate::gcflags::MARK.len()).any(|w| w == crate::gcflags::MARK.as_bytes());
    !args.iter().any(|a| {
        let b = a.as_encoded_bytes();
        match b.strip_prefix(b"@") {
            Some(file) => std::fs::read(std::ffi::OsStr::from_bytes(file)).map_or(true, |t| has_mark(&t)),
            None => has_mark(b),
        }
    })
}

/// Answers `-V=full` (the go command asks each tool once per build, for
/// its tool ID) from a cache keyed by the real tool's stamp, argv[0] and
/// the GO* environment (GOEXPERIMENT changes the answer): starting the
/// real tool costs a few ms. Returns when it cannot answer.
fn version_full(argv0: &OsString, real: &Path) {
    use sha2::{Digest, Sha256};
    use std::io::Write;
    let mut h = Sha256::new();
    h.update(b"V=full1\0");
    h.update(argv0.as_encoded_bytes());
    h.update([0]);
    h.update(real.as_os_str().as_encoded_bytes());
    h.update([0]);
    h.update(crate::stamp::Stamper::default().file(real).as_bytes());
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os().filter(|(k, _)| k.as_encoded_bytes().starts_with(b"GO")).collect();
    vars.sort();
    for (k, v) in &vars {
        for part in [k, v] {
            h.update([0]);
            h.update(part.as_encoded_bytes());
        }
    }
    let file = crate::sdk::cache_dir().join("toolid").join(hex::encode(&h.finalize()[..16]));
    let out = match std::fs::read(&file) {
        Ok(out) => out,
        Err(_) => {
            let Ok(run) = Command::new(real).arg0(argv0).arg("-V=full").output() else { return };
            if !run.status.success() || !run.stderr.is_empty() || run.stdout.is_empty() {
                return;
            }
            let _ = crate::sdk::write_atomic(&file, &String::from_utf8_lossy(&run.stdout));
            run.stdout
        }
    };
    if std::io::stdout().write_all(&out).is_ok() {
        std::process::exit(0);
    }
}

fn exec(argv0: &OsString, real: &Path, args: Vec<OsString>) -> ! {
    // argv[0] stays `.../compile`: the go command checks the name in `-V=full`.
    let err = Command::new(real).arg0(argv0).args(args).exec();
    eprintln!("weft: cannot run the real compiler {}: {err}", real.display());
    std::process::exit(2);
}

/// `<tool>.real` beside argv[0] (not /proc/self/exe: Bazel sandboxes are
/// per-file symlinks), else beside the resolved path.
fn real_tool(argv0: &Path) -> PathBuf {
    let name = format!("{}.real", argv0.file_name().unwrap_or_default().to_string_lossy());
    let beside = argv0.with_file_name(&name);
    if beside.exists() {
        return beside;
    }
    std::fs::canonicalize(argv0).map(|p| p.with_file_name(&name)).unwrap_or(beside)
}

/// Entry point when argv[0] is `.../asm`, `.../cgo`, `.../link`,
/// `.../cover` or `.../vet`: `-V=full` is answered here, cover and vet may
/// get the link file's real path (see [`crate::overlaid`]), link may get
/// the real GOROOT (see [`real_goroot`]), everything else is the real tool's.
pub fn tool_main(argv0: OsString, args: Vec<OsString>) -> ! {
    let real = real_tool(Path::new(&argv0));
    if args.len() == 1 && args[0] == "-V=full" {
        version_full(&argv0, &real);
    }
    let tool = Path::new(&argv0).file_name().unwrap_or_default().to_string_lossy().into_owned();
    let args = crate::overlaid::rewrite(&tool, &args).unwrap_or(args);
    if tool == "link" {
        if let Some(root) = real_goroot(Path::new(&argv0)) {
            std::env::set_var("GOROOT", root);
        }
    }
    exec(&argv0, &real, args)
}

/// The real GOROOT, when the linker's GOROOT is this SDK (with Go 1.23+,
/// unless -trimpath, which clears it): the linker writes GOROOT into the
/// binary (file paths, `runtime.GOROOT()`), and the real one is what plain
/// go writes, the same whatever weft's cache directory.
fn real_goroot(argv0: &Path) -> Option<PathBuf> {
    let goroot = std::env::var_os("GOROOT").filter(|g| !g.is_empty())?;
    let root = argv0.ancestors().nth(4)?; // <root>/pkg/tool/<os>_<arch>/link
    if Path::new(&goroot) != root {
        return None;
    }
    crate::sdk::read_info(root).ok().map(|info| info.real_goroot)
}

/// A woven package's compile command, and the one to fall back to.
struct Planned {
    pkg: String,
    woven: Vec<OsString>,
    /// The package as it is, plus the rules' fallback files (no-ops that
    /// keep defined what weft/rt links to), written only when needed.
    plain: Vec<OsString>,
    fallbacks: Vec<(PathBuf, Vec<u8>)>,
}

/// Compiles the woven package; if that fails, compiles it unwoven, so a
/// rule that no longer fits (a new Go or library release changed what it
/// relies on) costs the package its instrumentation, never the build.
/// When the unwoven package fails too, the errors are the user's own, and
/// only that compile's output is shown.
fn compile_or_fall_back(argv0: &OsString, real: &Path, p: Planned) -> ! {
    use std::io::Write;
    let compile = |args: &[OsString]| Command::new(real).arg0(argv0).args(args).stdout(std::process::Stdio::inherit()).output();
    // (Cannot start the compiler: exec says why.)
    let Ok(woven) = compile(&p.woven) else { exec(argv0, real, p.woven) };
    let mut stderr = std::io::stderr();
    if woven.status.success() {
        let _ = stderr.write_all(&woven.stderr);
        std::process::exit(0);
    }
    if woven.status.code().is_none() {
        std::process::exit(2); // killed: no second try
    }
    for (dest, bytes) in &p.fallbacks {
        if let Err(e) = write(dest, bytes) {
            let _ = writeln!(stderr, "weft: {e:#}");
        }
    }
    let Ok(plain) = compile(&p.plain) else { exec(argv0, real, p.plain) };
    if plain.status.success() {
        let _ = stderr.write_all(&woven.stderr);
        let _ = writeln!(stderr, "weft: {} does not compile with weft's rules (above); built without instrumentation", p.pkg);
    }
    let _ = stderr.write_all(&plain.stderr);
    std::process::exit(plain.status.code().unwrap_or(2));
}

/// Returns the compile commands when the package was woven, None to pass
/// through.
fn run(args: Vec<OsString>) -> Result<Option<Planned>> {
    let args = expand_response_files(args)?;
    let inv = Invocation::parse(&args);
    let Some(pkg) = inv.package.as_deref() else { return Ok(None) };
    // Weave only packages go mode marked (their cache keys differ from a
    // plain build's), or everything when a build system asks for it.
    let mark = inv.mark.as_deref().and_then(crate::gcflags::parse_mark);
    if mark.is_none() && std::env::var_os("WEFT_WEAVE_ALL").is_none_or(|v| v.is_empty()) {
        return Ok(None);
    }
    let rules = RuleSet::load()?;
    if rules.for_package(pkg).next().is_none() {
        return Ok(None);
    }
    let cwd = std::env::current_dir()?;
    let mut sources = Vec::new();
    for f in &inv.files {
        let path = Path::new(f);
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        sources.push(Source { path: cwd.join(path).to_string_lossy().into_owned(), bytes });
    }
    let allowed = inv.importcfg_packages();
    // The version go mode wrote into the mark, else what the paths say.
    let version = mark.map(|(_, v)| v.to_string()).filter(|v| !v.is_empty()).or_else(|| inv.version());
    let woven = package::weave(&rules, pkg, version.as_deref(), &sources, allowed.as_ref())?;
    for w in &woven.warnings {
        eprintln!("{w}");
    }
    if !woven.applied() {
        return Ok(None);
    }
    let out_dir = inv.output_dir().join("weft");
    let mut plain = inv.args.clone();
    let mut fallbacks = Vec::new();
    for (name, bytes) in package::fallbacks(&rules, pkg, version.as_deref()) {
        let dest = inv.output_dir().join("weft-plain").join(name);
        plain.push(dest.clone().into_os_string());
        fallbacks.push((dest, bytes));
    }
    let mut args = inv.args.clone();
    for (idx, bytes) in &woven.rewritten {
        let name = Path::new(&inv.files[*idx]).file_name().unwrap_or_default().to_owned();
        let dest = out_dir.join(name);
        write(&dest, bytes)?;
        args[inv.file_start + idx] = dest.into_os_string();
    }
    for (name, bytes) in &woven.added {
        let dest = out_dir.join(name);
        write(&dest, bytes)?;
        args.push(dest.into_os_string());
    }
    Ok(Some(Planned { pkg: pkg.to_string(), woven: args, plain, fallbacks }))
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
    /// The last `-D` value that is a weft mark.
    pub mark: Option<String>,
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
            let takes = matches!(flag, "p" | "o" | "importcfg" | "trimpath" | "goversion" | "D");
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
                "D" if value.as_deref().is_some_and(|v| v.starts_with(crate::gcflags::MARK)) => inv.mark = value,
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
    fn passes_through_only_unmarked_packages() {
        let plain = os(&["-o", "/w/_pkg_.a", "-p", "example.com/x", "-D", "", "./a.go"]);
        assert!(passthrough(&plain));
        assert!(!passthrough(&os(&["-p", "net/http", "-D=weft:0123:go1.26.8", "./a.go"])));
        assert!(!passthrough(&os(&["-p", "net/http", "-D", "weft:0123:go1.26.8", "./a.go"])));
        let tmp = tempfile::tempdir().unwrap();
        let rsp = tmp.path().join("args");
        std::fs::write(&rsp, "-p\nnet/http\n-D\nweft:0123:go1.26.8\n./a.go\n").unwrap();
        assert!(!passthrough(&os(&["-V=full", &format!("@{}", rsp.display())])), "the mark inside a response file");
        std::fs::write(&rsp, "-p\nexample.com/x\n./a.go\n").unwrap();
        assert!(passthrough(&os(&[&format!("@{}", rsp.display())])));
        assert!(!passthrough(&os(&["@/nonexistent/args"])), "an unreadable response file takes the full path (and its error)");
    }

    #[test]
    fn unquotes_response_lines() {
        assert_eq!(unquote("\"a\\\"b\\\\c\""), "a\"b\\c");
    }
}
