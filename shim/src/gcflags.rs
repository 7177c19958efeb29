//! The mark that tells the compile shim to weave a package travels as a
//! per-package compiler flag: `-gcflags=<import path>=<the user's flags for
//! it> -D=weft:<stamp>:<version>`. Compiler flags are part of a package's
//! build-cache key, so woven packages get keys of their own; `-D` only
//! names a prefix for local (`./x`) imports, which module builds never
//! have, so the compiler ignores it. A flag, unlike an overlay file, also
//! works for packages in the module cache (the go command refuses overlays
//! there).
//!
//! The go command applies, per package, the last `-gcflags` whose pattern
//! matches; our flag comes last, so it repeats the user's flags for that
//! package (from GOFLAGS and the command line) before adding the mark.
//! Matching follows cmd/go's rules: no pattern means the packages named on
//! the command line; `all`, `std`, `cmd`; import-path patterns with `...`;
//! relative patterns against the package directory.
//!
//! Our own pattern is the package's directory when it is std or in the
//! module cache (paths that do not depend on the working directory), written
//! as enough `../` to reach `/` from the go command's working directory:
//! cmd/go matches that with one string compare, where an import-path
//! pattern costs it a regexp compile per package and pattern (Go 1.26;
//! 14 ms of a warm shop build with five marks). A std package's pattern
//! names the wrapped SDK from its own name on (`../../...go1.26.8-<key>/src/net/http`),
//! not the cache directory it is in. The pattern lands in the
//! binary's build info, so with `-trimpath`, and for `go test` (whose
//! `p_test` and test main share the package's directory), the import path
//! is used instead.

use crate::golist::Listed;
use std::path::Path;

pub const MARK: &str = "weft:";

/// The `-D` value carrying the mark.
pub fn mark(stamp: &str, version: &str) -> String {
    format!("{MARK}{stamp}:{version}")
}

/// Reads the mark back: (stamp, version).
pub fn parse_mark(d: &str) -> Option<(&str, &str)> {
    d.strip_prefix(MARK)?.split_once(':')
}

/// One user `-gcflags` value: pattern (None: command-line packages) and flags.
#[derive(Debug, Clone)]
pub struct UserFlags {
    pub pattern: Option<String>,
    pub flags: String,
}

pub fn parse_value(v: &str) -> UserFlags {
    let v = v.trim();
    if !v.starts_with('-') {
        if let Some((pat, flags)) = v.split_once('=') {
            return UserFlags { pattern: Some(pat.to_string()), flags: flags.to_string() };
        }
    }
    UserFlags { pattern: None, flags: v.to_string() }
}

/// Every `-gcflags` the user gave, GOFLAGS first, in the order they apply.
pub fn user_flags(args: &[String]) -> Vec<UserFlags> {
    let mut out = Vec::new();
    let goflags = std::env::var("GOFLAGS").unwrap_or_default();
    for f in goflags.split_whitespace() {
        if let Some(v) = f.strip_prefix("-gcflags=").or_else(|| f.strip_prefix("--gcflags=")) {
            out.push(parse_value(v));
        }
    }
    let mut i = 0;
    while i < args.len() {
        let a = args[i].trim_start_matches('-');
        if a == "gcflags" && args[i].starts_with('-') && i + 1 < args.len() {
            out.push(parse_value(&args[i + 1]));
            i += 1;
        } else if let Some(v) = a.strip_prefix("gcflags=").filter(|_| args[i].starts_with('-')) {
            out.push(parse_value(v));
        }
        i += 1;
    }
    out
}

/// cmd/go's package pattern match (`...` is a wildcard; `x/...` also matches `x`).
fn match_path(pattern: &str, path: &str) -> bool {
    fn glob(p: &[u8], s: &[u8]) -> bool {
        match p.iter().position(|_| true) {
            None => s.is_empty(),
            Some(_) if p.starts_with(b"...") => (0..=s.len()).any(|i| glob(&p[3..], &s[i..])),
            Some(_) => !s.is_empty() && p[0] == s[0] && glob(&p[1..], &s[1..]),
        }
    }
    if let Some(prefix) = pattern.strip_suffix("/...") {
        if path == prefix {
            return true;
        }
    }
    glob(pattern.as_bytes(), path.as_bytes())
}

fn matches(u: &UserFlags, p: &Listed, cwd: &Path) -> bool {
    match u.pattern.as_deref() {
        None => !p.dep_only,
        Some("all") => true,
        Some("std") => p.standard,
        Some("cmd") => p.standard && (p.path == "cmd" || p.path.starts_with("cmd/")),
        Some(pat) if pat.starts_with('.') || pat.starts_with('/') => {
            let abs = cwd.join(pat).to_string_lossy().replace("/./", "/");
            let abs = abs.strip_suffix("/.").unwrap_or(&abs);
            match_path(abs, &p.dir)
        }
        Some(pat) => match_path(pat, &p.path),
    }
}

/// The `-gcflags` argument that marks package `p`; with `depth` (the `..`
/// that climb from the go command's working directory to `/`), matched by
/// directory where that is safe (see above).
pub fn marked_flag(user: &[UserFlags], p: &Listed, cwd: &Path, mark: &str, depth: Option<usize>) -> String {
    let theirs = user.iter().rev().find(|u| matches(u, p, cwd)).map(|u| u.flags.trim()).unwrap_or("");
    let sep = if theirs.is_empty() { "" } else { " " };
    let pattern = depth.filter(|_| p.immutable).and_then(|d| dir_pattern(p, d)).unwrap_or_else(|| p.path.clone());
    format!("-gcflags={pattern}={theirs}{sep}-D={mark}")
}

/// The package's directory as a relative pattern: `depth` times `../`,
/// then the path without its leading `/`. A std package's directory is in
/// the wrapped SDK, whose place follows weft's cache directory (HOME,
/// XDG_CACHE_HOME, WEFT_CACHE), so its pattern is `...` and the path from
/// the SDK's own name on; cmd/go matches that with one regexp compiled per
/// flag. None for a directory cmd/go would read otherwise.
fn dir_pattern(p: &Listed, depth: usize) -> Option<String> {
    let rel = p.dir.strip_prefix('/')?;
    let odd = |c: char| c == '=' || c.is_whitespace();
    if rel.is_empty() || rel.contains(odd) || rel.contains("...") || rel.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return None;
    }
    let climb = "../".repeat(depth.max(1));
    if !p.standard {
        return Some(format!("{climb}{rel}"));
    }
    // <parent>/<sdk>/src/<import path>; `...` never matches across an
    // element named vendor.
    let parts: Vec<&str> = rel.split('/').collect();
    let at = parts.len().checked_sub(p.path.split('/').count() + 2)?;
    if parts[at + 1] != "src" || parts[at + 2..].join("/") != p.path || parts[..at].contains(&"vendor") {
        return None;
    }
    Some(format!("{climb}...{}", parts[at..].join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(path: &str, dir: &str, standard: bool, dep_only: bool) -> Listed {
        Listed {
            path: path.into(),
            name: "x".into(),
            dir: dir.into(),
            standard,
            dep_only,
            module_version: String::new(),
            go_files: vec![],
            imports: vec![],
            deps: vec![],
            incomplete: false,
            immutable: standard,
            module_root: String::new(),
        }
    }

    #[test]
    fn patterns_match_like_cmd_go() {
        assert!(match_path("net/...", "net/http"));
        assert!(match_path("net/...", "net"));
        assert!(!match_path("net/...", "network"));
        assert!(match_path("github.com/x/...", "github.com/x/y/z"));
        assert!(match_path("database/sql", "database/sql"));
        assert!(!match_path("database/sql", "database/sql/driver"));
    }

    #[test]
    fn repeats_the_users_flags_for_the_package() {
        let cwd = Path::new("/m");
        let user = vec![parse_value("all=-N -l"), parse_value("-m"), parse_value("github.com/y/...=-B")];
        let http = pkg("net/http", "/g/src/net/http", true, true);
        assert_eq!(marked_flag(&user, &http, cwd, "weft:s:v", None), "-gcflags=net/http=-N -l -D=weft:s:v");
        let main = pkg("example.com/m", "/m", false, false);
        assert_eq!(marked_flag(&user, &main, cwd, "weft:s:v", None), "-gcflags=example.com/m=-m -D=weft:s:v");
        let y = pkg("github.com/y/z", "/mod/y/z", false, true);
        assert_eq!(marked_flag(&user, &y, cwd, "weft:s:v", None), "-gcflags=github.com/y/z=-B -D=weft:s:v");
        assert_eq!(marked_flag(&[], &y, cwd, "weft:s:v", None), "-gcflags=github.com/y/z=-D=weft:s:v");
        assert_eq!(parse_mark("weft:s:v1.2.3"), Some(("s", "v1.2.3")));
    }

    #[test]
    fn std_and_module_cache_packages_are_matched_by_directory() {
        let cwd = Path::new("/m");
        let http = pkg("net/http", "/cache/g/src/net/http", true, true);
        assert_eq!(marked_flag(&[], &http, cwd, "weft:s:v", Some(2)), "-gcflags=../../...g/src/net/http=-D=weft:s:v");
        // Not across an element named vendor, nor outside <sdk>/src.
        for (path, dir) in [("net/http", "/vendor/g/src/net/http"), ("golang.org/x/net", "/g/src/cmd/vendor/golang.org/x/net")] {
            let p = pkg(path, dir, true, true);
            assert_eq!(marked_flag(&[], &p, cwd, "weft:s:v", Some(2)), format!("-gcflags={path}=-D=weft:s:v"));
        }
        let y = Listed { immutable: true, ..pkg("github.com/y/z", "/mod/github.com/y/z@v1.0.0", false, true) };
        assert_eq!(marked_flag(&[], &y, cwd, "weft:s:v", Some(2)), "-gcflags=../../mod/github.com/y/z@v1.0.0=-D=weft:s:v");
        // A package of the main module keeps its import path (its directory
        // follows the working directory).
        let main = pkg("example.com/m", "/m", false, false);
        assert_eq!(marked_flag(&[], &main, cwd, "weft:s:v", Some(2)), "-gcflags=example.com/m=-D=weft:s:v");
        for odd in ["/g/a=b", "/g/a b", "/g/x/.../y", "/g//y", "/g/../y", "relative"] {
            let p = pkg("p", odd, true, true);
            assert_eq!(marked_flag(&[], &p, cwd, "weft:s:v", Some(2)), "-gcflags=p=-D=weft:s:v", "{odd}");
        }
    }
}
