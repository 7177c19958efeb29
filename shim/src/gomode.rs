//! Go mode: the wrapped SDK's `bin/go`. It runs the real go command with
//! GOROOT set to the wrapped root (a symlinked `go` would resolve back to
//! the real root and bypass the shim) and GOTOOLCHAIN=local.
//!
//! For build, install, run and test it lists the packages (`go list -deps`)
//! and adds, through `-overlay` merged with the user's own:
//! * to every package a rule targets, a marker file naming the rule-set
//!   and weaver hashes: the compile shim weaves only packages carrying it,
//!   and it gives them build-cache keys of their own;
//! * to every program that links a marked package, `import _ "weft/rt"`.
//!
//! A program no rule touches gets nothing, so it builds to the same bytes
//! and shares the build cache with plain go. If listing fails the build
//! goes on uninstrumented.

use crate::rules::RuleSet;
use crate::sdk;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const LINK_FILE: &str = "zz_weft_link.go";

/// The file whose presence tells the compile shim to weave a package.
pub const MARKER_FILE: &str = "zz_weft_rules.go";

/// What the marker says: the rule-set hash and the weaver (this weft
/// binary, recorded in the SDK), so changing either rebuilds woven packages.
fn marker_stamp(root: &Path, rules: &RuleSet) -> Result<String> {
    let info = sdk::read_info(root)?;
    let mut h = Sha256::new();
    h.update(rules.hash.as_bytes());
    h.update(info.weft_binary.as_bytes());
    Ok(hex::encode(h.finalize()))
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
    // A bad rule fails here, once and clearly, not in every compile.
    let rules = RuleSet::load()?;
    let args = match with_link_overlay(root, &real_go, &rules, &args) {
        Ok(a) => a,
        Err(e) => {
            // Let the go command report problems with the packages itself.
            if std::env::var_os("WEFT_DEBUG").is_some() {
                eprintln!("weft: not adding the runtime overlay: {e:#}");
            }
            args
        }
    };
    let mut cmd = Command::new(&real_go);
    cmd.args(args).env("GOROOT", root).env("GOTOOLCHAIN", "local");
    Ok(cmd)
}

/// Flags of build and test that take a separate value.
fn takes_value(flag: &str) -> bool {
    matches!(
        flag,
        "C" | "p" | "asmflags" | "buildmode" | "compiler" | "gccgoflags" | "gcflags" | "installsuffix" | "ldflags"
            | "mod" | "modfile" | "overlay" | "pgo" | "pkgdir" | "tags" | "toolexec" | "o" | "covermode" | "coverpkg"
            | "exec" | "run" | "bench" | "count" | "cpu" | "parallel" | "timeout" | "benchtime" | "coverprofile"
            | "cpuprofile" | "memprofile" | "memprofilerate" | "blockprofile" | "blockprofilerate" | "mutexprofile"
            | "mutexprofilefraction" | "outputdir" | "trace" | "shuffle" | "skip" | "fuzz" | "fuzztime"
            | "fuzzminimizetime" | "list" | "vet"
    )
}

/// Flags `go list` needs to see the same packages.
fn for_list(flag: &str) -> bool {
    matches!(flag, "C" | "tags" | "mod" | "modfile" | "overlay" | "race" | "msan" | "asan" | "pgo")
}

struct Parsed {
    sub: String,
    /// (index of the flag, flag name, value, index of the value if separate)
    flags: Vec<(usize, String, Option<String>, Option<usize>)>,
    pkgs: Vec<usize>,
}

fn parse(args: &[String]) -> Option<Parsed> {
    let sub = args.first()?.clone();
    let mut p = Parsed { sub, flags: vec![], pkgs: vec![] };
    let mut i = 1;
    while i < args.len() {
        let a = &args[i];
        if a == "--" || a == "-args" || a == "--args" {
            break;
        }
        if a.starts_with('-') && a.len() > 1 {
            let f = a.trim_start_matches('-');
            let (name, val) = match f.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (f.to_string(), None),
            };
            if val.is_none() && takes_value(&name) && i + 1 < args.len() {
                p.flags.push((i, name, Some(args[i + 1].clone()), Some(i + 1)));
                i += 2;
                continue;
            }
            p.flags.push((i, name, val, None));
        } else {
            p.pkgs.push(i);
            if p.sub == "run" && !a.ends_with(".go") {
                break; // the rest are the program's arguments
            }
            if p.sub == "run" && i + 1 < args.len() && !args[i + 1].ends_with(".go") {
                break;
            }
        }
        i += 1;
    }
    Some(p)
}

/// Adds (or merges) the overlay that links weft/rt into the programs built.
fn with_link_overlay(root: &Path, real_go: &Path, rules: &RuleSet, args: &[OsString]) -> Result<Vec<OsString>> {
    let strs: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let Some(p) = parse(&strs) else { return Ok(args.to_vec()) };
    if !matches!(p.sub.as_str(), "build" | "install" | "run" | "test") {
        return Ok(args.to_vec());
    }
    let testing = p.sub == "test";
    let mut list = Command::new(real_go);
    list.arg("list").arg("-e");
    for (_, name, val, _) in &p.flags {
        if for_list(name) {
            match val {
                Some(v) => list.arg(format!("-{name}={v}")),
                None => list.arg(format!("-{name}")),
            };
        }
    }
    if testing {
        list.arg("-test");
    }
    list.arg("-deps").arg("-f").arg("{{.ImportPath}}\t{{.Name}}\t{{.Dir}}\t{{.Standard}}\t{{.DepOnly}}\t{{join .Deps \" \"}}");
    for &i in &p.pkgs {
        list.arg(&strs[i]);
    }
    let out = list.env("GOROOT", root).env("GOTOOLCHAIN", "local").output().context("running go list")?;
    if !out.status.success() {
        anyhow::bail!("go list failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let targets: BTreeSet<&str> = rules.rules.iter().map(|r| r.package.as_str()).collect();
    let text = String::from_utf8_lossy(&out.stdout);
    let pkgs: Vec<Vec<&str>> = text.lines().map(|l| l.splitn(6, '\t').collect()).filter(|f: &Vec<&str>| f.len() == 6).collect();
    let by_path: BTreeMap<&str, &Vec<&str>> = pkgs.iter().map(|f| (f[0], f)).collect();
    let mut links: BTreeMap<String, String> = BTreeMap::new(); // dir -> package name
    let mut markers: BTreeMap<String, String> = BTreeMap::new();
    for f in &pkgs {
        let (path, name, dir, dep_only, deps) = (f[0], f[1], f[2], f[4] == "true", f[5]);
        if targets.contains(path) && !dir.is_empty() {
            markers.insert(dir.to_string(), name.to_string());
        }
        if dep_only || name != "main" || !deps.split(' ').any(|d| targets.contains(d)) {
            continue;
        }
        // A program that links a woven package gets the runtime; for a test
        // binary (`p.test`), through the package under test.
        let host = match path.strip_suffix(".test") {
            Some(under_test) if testing => by_path.get(under_test).copied(),
            _ => Some(f),
        };
        if let Some(h) = host.filter(|h| h[3] != "true" && !h[2].is_empty()) {
            links.insert(h[2].to_string(), h[1].to_string());
        }
    }
    if links.is_empty() {
        return Ok(args.to_vec());
    }
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
    for (dir, name) in &links {
        let file = link_dir.join(format!("{name}.go"));
        write_if_changed(&file, &format!("package {name}\n\nimport _ \"weft/rt\"\n"))?;
        replace.insert(format!("{dir}/{LINK_FILE}"), serde_json::Value::String(file.to_string_lossy().into()));
    }
    // The marker: woven packages get a build-cache key of their own.
    let stamp = marker_stamp(root, rules)?;
    for (dir, name) in &markers {
        // Named like the file it stands for: the shim looks for that name.
        let file = link_dir.join(format!("marker-{}", &stamp[..16])).join(name).join(MARKER_FILE);
        write_if_changed(&file, &format!("package {name}\n\n// Woven by weft; rules and weaver {stamp}.\n"))?;
        replace.insert(format!("{dir}/{MARKER_FILE}"), serde_json::Value::String(file.to_string_lossy().into()));
    }
    let json = serde_json::to_string(&serde_json::json!({ "Replace": replace }))?;
    let overlay = link_dir.join(format!("overlay-{}.json", &hex::encode(Sha256::digest(json.as_bytes()))[..16]));
    write_if_changed(&overlay, &json)?;

    // Rebuild the command line: our overlay replaces the user's (it holds
    // theirs), and `go run main.go` style file lists name our file too.
    let skip: BTreeSet<usize> = p.flags.iter().filter(|f| f.1 == "overlay").flat_map(|f| [Some(f.0), f.3]).flatten().collect();
    let last_file = p.pkgs.iter().copied().filter(|&i| strs[i].ends_with(".go")).last();
    let dirs = &links;
    // `-C dir` must stay the first flag.
    let after_c = match p.flags.first() {
        Some((1, name, _, vi)) if name == "C" => vi.unwrap_or(1),
        _ => 0,
    };
    let mut out_args = vec![strs[0].clone()];
    if after_c == 0 {
        out_args.push(format!("-overlay={}", overlay.display()));
    }
    for (i, a) in strs.iter().enumerate().skip(1) {
        if skip.contains(&i) {
            continue;
        }
        out_args.push(a.clone());
        if i == after_c {
            out_args.push(format!("-overlay={}", overlay.display()));
        }
        if Some(i) == last_file {
            if let Some(dir) = dirs.keys().next() {
                out_args.push(format!("{dir}/{LINK_FILE}"));
            }
        }
    }
    Ok(out_args.into_iter().map(OsString::from).collect())
}

fn write_if_changed(path: &Path, content: &str) -> Result<()> {
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
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn run_stops_at_program_args() {
        let p = parse(&s(&["run", "-tags", "x", "./cmd/a", "-port", "1"])).unwrap();
        assert_eq!(p.pkgs, [3]);
        assert_eq!(p.flags[0].1, "tags");
    }

    #[test]
    fn test_flags_interleave() {
        let p = parse(&s(&["test", "./...", "-run", "X", "-count=1", "./b", "-args", "-v"])).unwrap();
        assert_eq!(p.pkgs, [1, 5]);
    }
}
