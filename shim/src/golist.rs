//! The go command's view of a build: which of its arguments are flags and
//! packages, and `go list -deps` over them (with `-test` for go test).

use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

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

pub struct Parsed {
    pub sub: String,
    /// (index of the flag, flag name, value, index of the value if separate)
    pub flags: Vec<(usize, String, Option<String>, Option<usize>)>,
    pub pkgs: Vec<usize>,
}

pub fn parse(args: &[String]) -> Option<Parsed> {
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
            let c_dir = p.flags.iter().find(|f| f.1 == "C").and_then(|f| f.2.clone());
            if p.sub == "run" && !is_go_file(a, c_dir.as_deref()) {
                break; // the rest are the program's arguments
            }
            if p.sub == "run" && i + 1 < args.len() && !is_go_file(&args[i + 1], c_dir.as_deref()) {
                break;
            }
        }
        i += 1;
    }
    Some(p)
}

/// An argument the go command takes as a Go file: it ends in ".go" and is
/// a file (relative to `-C dir`, if given). A package path may end in
/// ".go" too: github.com/nats-io/nats.go.
pub fn is_go_file(arg: &str, c_dir: Option<&str>) -> bool {
    arg.ends_with(".go") && Path::new(c_dir.unwrap_or(".")).join(arg).is_file()
}

/// One package of the build, as `go list` describes it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub path: String,
    pub name: String,
    pub dir: String,
    pub standard: bool,
    /// Not named on the command line, only a dependency.
    pub dep_only: bool,
    /// The module version ("" for the main module and std).
    pub module_version: String,
    pub go_files: Vec<String>,
    pub imports: Vec<String>,
    pub deps: Vec<String>,
    /// The package or a dependency has an error.
    pub incomplete: bool,
    /// Its sources cannot change without the go command noticing in
    /// go.mod or go.sum: std, or a module in the module cache.
    pub immutable: bool,
    /// The root of its module when that module can change (the main
    /// module, a workspace module, a replacement by a directory).
    pub module_root: String,
}

const SEP: char = '\u{1f}';

/// weft/rt and every package it imports, listed as [`list`] lists the
/// build's own (same flags).
pub fn list_rt_deps(root: &Path, real_go: &Path, args: &[String], p: &Parsed) -> Result<Vec<Listed>> {
    let mut args = args.to_vec();
    args.push("weft/rt".into());
    let rt = Parsed { sub: "build".into(), flags: p.flags.clone(), pkgs: vec![args.len() - 1] };
    list(root, real_go, &args, &rt)
}

/// Runs `go list -e -deps` for the packages of `args` under the wrapped root.
pub fn list(root: &Path, real_go: &Path, args: &[String], p: &Parsed) -> Result<Vec<Listed>> {
    let mut list = Command::new(real_go);
    list.arg("list");
    // `-C` must be the first flag.
    if let Some((_, _, Some(dir), _)) = p.flags.iter().find(|f| f.1 == "C") {
        list.arg(format!("-C={dir}"));
    }
    list.arg("-e");
    for (_, name, val, _) in &p.flags {
        if for_list(name) && name != "C" {
            match val {
                Some(v) => list.arg(format!("-{name}={v}")),
                None => list.arg(format!("-{name}")),
            };
        }
    }
    if p.sub == "test" {
        list.arg("-test");
    }
    let fields = [
        "{{.ImportPath}}",
        "{{.Name}}",
        "{{.Dir}}",
        "{{.Standard}}",
        "{{.DepOnly}}",
        "{{with .Module}}{{.Version}}{{end}}",
        "{{join .GoFiles \" \"}}",
        "{{join .Imports \" \"}}",
        "{{join .Deps \" \"}}",
        "{{.Incomplete}}",
        "{{with .Module}}{{.Main}}{{end}}",
        "{{with .Module}}{{.Dir}}{{end}}",
        "{{with .Module}}{{with .Replace}}r{{.Version}}{{end}}{{end}}",
    ];
    list.arg("-deps").arg("-f").arg(fields.join(&SEP.to_string()));
    for &i in &p.pkgs {
        list.arg(&args[i]);
    }
    let out = list.env("GOROOT", root).env("GOTOOLCHAIN", "local").output().context("running go list")?;
    if !out.status.success() {
        anyhow::bail!("go list failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let words = |s: &str| s.split(' ').filter(|w| !w.is_empty()).map(String::from).collect::<Vec<_>>();
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(SEP).collect();
            (f.len() == fields.len()).then(|| {
                let standard = f[3] == "true";
                let (main, mod_dir, replace) = (f[10] == "true", f[11], f[12]);
                // A module-cache copy: a version, no replacement by a
                // directory, and the package inside it (not vendored).
                let cached = !main
                    && !f[5].is_empty()
                    && replace != "r"
                    && !mod_dir.is_empty()
                    && Path::new(f[2]).starts_with(mod_dir);
                let mutable_module = !mod_dir.is_empty() && (main || replace == "r");
                Listed {
                path: f[0].into(),
                name: f[1].into(),
                dir: f[2].into(),
                standard,
                dep_only: f[4] == "true",
                module_version: f[5].into(),
                go_files: words(f[6]),
                imports: words(f[7]),
                deps: words(f[8]),
                incomplete: f[9] == "true",
                immutable: standard || cached,
                module_root: if mutable_module { mod_dir.to_string() } else { String::new() },
            }})
        })
        .collect())
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
