//! Go mode: the wrapped SDK's `bin/go`. It runs the real go command with
//! GOROOT set to the wrapped root (a symlinked `go` would resolve back to
//! the real root and bypass the shim) and GOTOOLCHAIN=local.
//!
//! For build, install, run and test it lists the packages (`go list -deps`)
//! and adds:
//! * (as `-gcflags`, see gcflags.rs) to every package a rule targets, a
//!   mark naming the hashes of its rules and of the weaver, and its version:
//!   the compile shim weaves only marked packages, and the mark gives them
//!   build-cache keys of their own;
//! * (through `-overlay`, merged with the user's own) to every program that
//!   links a marked package, `import _ "weft/rt"` and its manifest.
//!
//! A program no rule touches gets nothing, so it builds to the same bytes
//! and shares the build cache with plain go. If listing fails the build
//! goes on uninstrumented. With `--locked` (or WEFT_LOCKED=1) the woven
//! packages are checked against weft.lock first.
//!
//! The plan is cached (plancache.rs): a warm build with nothing changed
//! runs no `go list` and parses no rules. `WEFT_DEBUG=1` says which it was.

use crate::gcflags;
use crate::golist::{self, Listed};
use crate::plancache;
use crate::rules::RuleSet;
use crate::sdk::{self, SdkInfo};
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const LINK_FILE: &str = "zz_weft_link.go";

/// What weft will weave into a build.
pub struct Plan {
    /// The packages a rule targets, once each, with the rules that apply.
    pub marked: Vec<(Listed, Vec<String>)>,
    /// The go command line with weft's overlay.
    pub args: Vec<String>,
    /// What `go list` said, when it ran, and when it started.
    pub listed: Option<(Vec<Listed>, std::time::SystemTime)>,
    /// The files the plan wrote (overlay and link files), with their text.
    pub files: Vec<(PathBuf, String)>,
}

/// Entry point when argv[0] is `.../bin/go`.
pub fn main(argv0: OsString, args: Vec<OsString>) -> ! {
    let result = sdk_root(Path::new(&argv0)).and_then(|root| command(&root, args));
    match result {
        Ok(mut cmd) => {
            let err = cmd.exec();
            eprintln!("weft: cannot run the real go command: {err}");
        }
        Err(e) => eprintln!("weft: {e:#}"),
    }
    std::process::exit(2);
}

/// The wrapped root: argv[0] (or its PATH match), resolved, two levels up.
pub fn sdk_root(argv0: &Path) -> Result<PathBuf> {
    let exe = if argv0.components().count() > 1 {
        argv0.to_path_buf()
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|d| d.join(argv0))
            .find(|p| p.is_file())
            .with_context(|| format!("cannot find {} on PATH", argv0.display()))?
    };
    let exe = std::fs::canonicalize(&exe).with_context(|| format!("resolving {}", exe.display()))?;
    let root = exe.parent().and_then(Path::parent).context("bin/go is not inside a GOROOT")?;
    if !root.join(sdk::MARKER).exists() {
        anyhow::bail!("{} is not a weft SDK (no {}); make one with `weft sdk --out DIR`", root.display(), sdk::MARKER);
    }
    Ok(root.to_path_buf())
}

/// The real go command, ready to run, for `args` under the wrapped root.
pub fn command(root: &Path, args: Vec<OsString>) -> Result<Command> {
    let info = sdk::read_info(root)?;
    let real_go = info.real_goroot.join("bin").join("go");
    let mut strs: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let flag_locked = strs.iter().position(|a| a == "--locked" || a == "-locked=weft");
    if let Some(i) = flag_locked {
        strs.remove(i);
    }
    let locked = flag_locked.is_some() || std::env::var("WEFT_LOCKED").is_ok_and(|v| v == "1" || v == "true");
    subcommand_first(&mut strs);
    let run = |args: Vec<String>| {
        let mut cmd = Command::new(&real_go);
        if let Some(overlay) = args.iter().find_map(|a| a.strip_prefix("-overlay=")) {
            cmd.env(crate::overlaid::OVERLAY_ENV, overlay);
        }
        cmd.args(args).env("GOROOT", root).env("GOTOOLCHAIN", "local");
        cmd
    };
    let debug = std::env::var_os("WEFT_DEBUG").is_some_and(|v| !v.is_empty());
    let entry = if locked { None } else { plancache::entry_path(root, &info.weft_binary, &strs) };
    if let Some(args) = entry.as_deref().and_then(plancache::lookup) {
        if debug {
            eprintln!("weft: build plan from the cache");
            eprintln!("weft: go {}", args.join(" "));
        }
        return Ok(run(args));
    }
    // A bad rule fails here, once and clearly, not in every compile.
    let rules = RuleSet::load()?;
    let plan = plan(root, &real_go, &rules, &info, &strs);
    if let (Some(entry), Ok(Plan { listed: Some((listed, started)), args, files, .. })) = (&entry, &plan) {
        if debug {
            eprintln!("weft: build plan from go list");
        }
        plancache::store(entry, &strs, listed, args, files.clone(), *started);
    }
    if locked {
        let plan = plan.as_ref().map_err(|e| anyhow::anyhow!("--locked: cannot tell what would be woven: {e:#}"))?;
        crate::lock::verify(plan, &rules, &info)?;
    }
    let args = match plan {
        Ok(p) => p.args,
        Err(e) => {
            eprintln!("weft: building without instrumentation: {e:#}");
            strs
        }
    };
    if debug {
        eprintln!("weft: go {}", args.join(" "));
    }
    Ok(run(args))
}

/// `go -C dir build …` means `go build -C dir …` (the go command takes -C
/// in both places, first either way); weft reads the subcommand from the
/// first argument, so the flag moves behind it.
fn subcommand_first(strs: &mut Vec<String>) {
    let n = match strs.first().map(String::as_str) {
        Some("-C" | "--C") if strs.len() > 2 => 2,
        Some(a) if (a.starts_with("-C=") || a.starts_with("--C=")) && strs.len() > 1 => 1,
        _ => return,
    };
    let flag: Vec<String> = strs.drain(..n).collect();
    strs.splice(1..1, flag);
}

/// The version a rule's requirement is checked against.
pub fn version_of(p: &Listed, info: &SdkInfo) -> String {
    if p.standard {
        info.go_version.clone()
    } else {
        p.module_version.clone()
    }
}

/// Lists the build and writes the overlay. Commands that build nothing
/// come back unchanged.
pub fn plan(root: &Path, real_go: &Path, rules: &RuleSet, info: &SdkInfo, strs: &[String]) -> Result<Plan> {
    let unchanged = || Plan { marked: vec![], args: strs.to_vec(), listed: None, files: vec![] };
    let Some(p) = golist::parse(strs) else { return Ok(unchanged()) };
    if !matches!(p.sub.as_str(), "build" | "install" | "run" | "test") {
        return Ok(unchanged());
    }
    let testing = p.sub == "test";
    let started = std::time::SystemTime::now();
    let pkgs = golist::list(root, real_go, strs, &p)?;
    let listed_unchanged = || Plan { listed: Some((pkgs.clone(), started)), ..unchanged() };
    let by_path: BTreeMap<&str, &Listed> = pkgs.iter().map(|l| (l.path.as_str(), l)).collect();
    // Packages a rule targets (test variants `p [p.test]` are not woven).
    let mut marked: BTreeMap<String, (Listed, Vec<String>)> = BTreeMap::new();
    for l in pkgs.iter().filter(|l| !l.path.contains(' ') && !l.dir.is_empty()) {
        let version = version_of(l, info);
        let ids: Vec<String> =
            rules.for_package(&l.path).filter(|r| r.matches_version(Some(&version))).map(|r| r.id.clone()).collect();
        if !ids.is_empty() {
            marked.insert(l.path.clone(), (l.clone(), ids));
        }
    }
    // Companion rules (the runtime's) come only with others.
    let companion_only = |ids: &Vec<String>| ids.iter().all(|id| rules.rules.iter().any(|r| &r.id == id && r.companion));
    if marked.values().all(|(_, ids)| companion_only(ids)) {
        marked.clear();
    }
    // Programs linking a package woven with calls into weft/rt get the
    // runtime and a manifest. Marks hold for the whole build: a program
    // using only companions (a test binary that merely logs, beside one
    // that serves HTTP) links woven code too.
    let rt_rules: BTreeSet<&str> = rules.rules.iter().filter(|r| r.calls_rt()).map(|r| r.id.as_str()).collect();
    let calls_rt = |ids: &Vec<String>| ids.iter().any(|id| rt_rules.contains(id.as_str()));
    let mut links: BTreeMap<String, (String, Vec<&str>)> = BTreeMap::new(); // dir -> (name, marked deps)
    for l in pkgs.iter().filter(|l| !l.dep_only && l.name == "main") {
        let used: Vec<&str> = l.deps.iter().filter(|d| marked.contains_key(*d)).map(String::as_str).collect();
        if !used.iter().any(|p| calls_rt(&marked[*p].1)) {
            continue;
        }
        // A test binary (`p.test`) gets them through the package under test.
        let host = match l.path.strip_suffix(".test") {
            Some(under_test) if testing => by_path.get(under_test).copied(),
            _ => Some(l),
        };
        if let Some(h) = host.filter(|h| !h.standard && !h.dir.is_empty()) {
            if !h.module_version.is_empty() {
                // `go install pkg@version`: the go command refuses overlays in the module cache.
                eprintln!("weft: {} is in the module cache; building it without instrumentation", h.path);
                return Ok(unchanged());
            }
            let entry = links.entry(h.dir.clone()).or_insert_with(|| (h.name.clone(), vec![]));
            entry.1.extend(used);
        }
    }
    if links.is_empty() {
        return Ok(listed_unchanged());
    }
    let mut files = Vec::new();
    let link_dir = sdk::cache_dir().join("link");
    let mut replace: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    // The user's own overlay first; ours is added to it.
    let user_overlay = p.flags.iter().find(|f| f.1 == "overlay").and_then(|f| f.2.clone());
    if let Some(path) = &user_overlay {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading -overlay {path}"))?;
        let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("parsing -overlay {path}"))?;
        if let Some(m) = v.get("Replace").and_then(|r| r.as_object()) {
            replace.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    for (dir, (name, used)) in &links {
        let mut used = used.clone();
        used.sort();
        used.dedup();
        let manifest = manifest(rules, used.iter().map(|p| &marked[*p]));
        let text = format!(
            "// Code generated by weft. DO NOT EDIT.\n\npackage {name}\n\nimport weftrt \"weft/rt\"\n\nvar _ = weftrt.SetManifest({})\n",
            serde_json::to_string(&manifest)?
        );
        let file = stable_file(&link_dir, name, LINK_FILE, &text)?;
        files.push((file.clone(), text));
        replace.insert(format!("{dir}/{LINK_FILE}"), file.to_string_lossy().into());
    }
    // The mark: woven packages get build-cache keys of their own, which
    // change with the rules that weave them and with the weaver.
    let user_flags = gcflags::user_flags(strs);
    let cwd = std::env::current_dir()?;
    let depth = (!testing && !trimpath(root, strs)).then(|| cwd_depth(strs));
    let mut marks = Vec::new();
    for (l, ids) in marked.values() {
        let mut h = Sha256::new();
        h.update(info.weft_binary.as_bytes());
        for r in rules.for_package(&l.path).filter(|r| ids.contains(&r.id)) {
            h.update(r.hash.as_bytes());
        }
        let stamp = &hex::encode(h.finalize())[..24];
        marks.push(gcflags::marked_flag(&user_flags, l, &cwd, &gcflags::mark(stamp, &version_of(l, info)), depth));
    }
    let json = serde_json::to_string(&serde_json::json!({ "Replace": replace }))?;
    let overlay = link_dir.join(format!("overlay-{}.json", &hex::encode(Sha256::digest(json.as_bytes()))[..16]));
    write_if_changed(&overlay, &json)?;
    files.push((overlay.clone(), json));
    let args = rewrite_args(strs, &p, &overlay, &marks, links.keys().next());
    Ok(Plan { marked: marked.into_values().collect(), args, listed: Some((pkgs, started)), files })
}

/// True when `-trimpath` may be on: the command line, GOFLAGS, or a
/// GOFLAGS line of the user's or the SDK's go env file names it.
fn trimpath(root: &Path, strs: &[String]) -> bool {
    let named = |a: &str| {
        let a = a.trim_matches(['\'', '"']);
        a.starts_with('-') && a.trim_start_matches('-').split('=').next() == Some("trimpath")
    };
    let mut goflags = std::env::var("GOFLAGS").unwrap_or_default();
    for file in sdk::user_go_env().into_iter().chain([root.join("go.env")]) {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        goflags.extend(text.lines().filter_map(|l| l.strip_prefix("GOFLAGS=")).map(|l| format!(" {l}")));
    }
    strs.iter().map(String::as_str).chain(goflags.split_whitespace()).any(named)
}

/// Components of the deepest directory the go command may take as its
/// working directory: $PWD or the physical one, either joined with `-C`.
/// That many `..` climb from it to `/`.
pub fn cwd_depth(strs: &[String]) -> usize {
    let mut dirs: Vec<PathBuf> = std::env::current_dir().into_iter().collect();
    dirs.extend(std::env::var_os("PWD").map(PathBuf::from).filter(|d| d.is_absolute()));
    if let Some((_, _, Some(c), _)) = golist::parse(strs).and_then(|p| p.flags.into_iter().find(|f| f.1 == "C")) {
        for d in dirs.clone() {
            let joined = d.join(&c);
            dirs.push(std::fs::canonicalize(&joined).unwrap_or(joined));
        }
    }
    dirs.iter().map(|d| d.components().count()).max().unwrap_or(1)
}

/// The manifest a program carries (`weft inspect` reads it back).
fn manifest<'a>(rules: &RuleSet, used: impl Iterator<Item = &'a (Listed, Vec<String>)>) -> String {
    let packages: Vec<serde_json::Value> = used
        .map(|(l, ids)| {
            // The hooks' names let `weft inspect` check that the woven code
            // was linked (a package that fell back has none of them).
            let mut hooks: Vec<&str> = rules
                .for_package(&l.path)
                .filter(|r| ids.contains(&r.id))
                .flat_map(|r| &r.functions)
                .flat_map(|f| std::iter::once(f.before.as_str()).chain(f.after.as_deref()))
                .collect();
            hooks.sort();
            hooks.dedup();
            serde_json::json!({ "package": l.path, "rules": ids, "hooks": hooks })
        })
        .collect();
    let m = serde_json::json!({
        "weft": crate::compile::VERSION,
        "rule_set": rules.hash,
        "packages": packages,
    });
    format!("{}{}{}", crate::inspect::BEGIN, m, crate::inspect::END)
}

/// A file whose path depends only on its content, named `file_name`
/// (the go command compiles it under that name).
fn stable_file(dir: &Path, pkg: &str, file_name: &str, text: &str) -> Result<PathBuf> {
    let h = hex::encode(Sha256::digest(text.as_bytes()));
    let path = dir.join(&h[..16]).join(pkg).join(file_name);
    write_if_changed(&path, text)?;
    Ok(path)
}

/// The command line with our overlay replacing the user's (it holds
/// theirs); `go run main.go` style file lists name our link file too.
fn rewrite_args(strs: &[String], p: &golist::Parsed, overlay: &Path, marks: &[String], link_dir: Option<&String>) -> Vec<String> {
    let skip: BTreeSet<usize> =
        p.flags.iter().filter(|f| f.1 == "overlay").flat_map(|f| [Some(f.0), f.3]).flatten().collect();
    let last_file = p.pkgs.iter().copied().rfind(|&i| strs[i].ends_with(".go"));
    // `-C dir` must stay the first flag.
    let after_c = match p.flags.first() {
        Some((1, name, _, vi)) if name == "C" => vi.unwrap_or(1),
        _ => 0,
    };
    let overlay_arg = format!("-overlay={}", overlay.display());
    // The marks go after every user flag (the last matching -gcflags wins),
    // right before the first package.
    let first_pkg = p.pkgs.first().copied().unwrap_or(strs.len());
    let mut out = vec![strs[0].clone()];
    if after_c == 0 {
        out.push(overlay_arg.clone());
    }
    for (i, a) in strs.iter().enumerate().skip(1) {
        if i == first_pkg {
            out.extend(marks.iter().cloned());
        }
        if skip.contains(&i) {
            continue;
        }
        out.push(a.clone());
        if i == after_c {
            out.push(overlay_arg.clone());
        }
        if Some(i) == last_file {
            if let Some(dir) = link_dir {
                out.push(format!("{dir}/{LINK_FILE}"));
            }
        }
    }
    if first_pkg >= strs.len() {
        out.extend(marks.iter().cloned());
    }
    out
}

pub fn write_if_changed(path: &Path, content: &str) -> Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(content) {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().unwrap())?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}


#[cfg(test)]
mod tests {
    use super::subcommand_first;

    fn moved(args: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        subcommand_first(&mut v);
        v
    }

    #[test]
    fn c_before_the_subcommand_moves_behind_it() {
        assert_eq!(moved(&["-C", "app", "build", "-o", "x", "."]), ["build", "-C", "app", "-o", "x", "."]);
        assert_eq!(moved(&["-C=app", "test", "./..."]), ["test", "-C=app", "./..."]);
        assert_eq!(moved(&["--C", "app", "run", "."]), ["run", "--C", "app", "."]);
        assert_eq!(moved(&["build", "-C", "app", "."]), ["build", "-C", "app", "."]);
        assert_eq!(moved(&["-C", "app"]), ["-C", "app"]);
        assert_eq!(moved(&["version"]), ["version"]);
    }
}
