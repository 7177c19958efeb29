//! The wrapped Go SDK: a GOROOT that mirrors the real one, with weft's
//! compile shim in front of the real compiler and the runtime as
//! `src/weft/...`. Plain `go`, Nix and rules_go all build through it.
//!
//! Layout (DIR is the wrapped root):
//! * `src/` real directories holding hard links to the real files (copies
//!   where hard links are refused: another filesystem, or someone else's
//!   files under protected_hardlinks): the go command indexes a package
//!   directory only if every entry is a regular file or a directory (and
//!   skips symlinked directories when it walks std); files read by `//go:embed`
//!   are copies; `src/weft/...` is written from the embedded runtime.
//! * `pkg/tool/<os>_<arch>/` the only tool directory: `compile` is a copy
//!   of weft, `compile.real` links the real compiler; `asm`, `cgo`,
//!   `link`, `cover` and `vet` are weft too (hard links to `compile`,
//!   beside `<tool>.real`) to answer `-V=full` from a cache (cover and
//!   vet also to find weft's link file); other tools link.
//! * `bin/go` a copy of weft (go mode), `go.env` with `GOTOOLCHAIN=local`,
//!   `weft-sdk.json` naming the real GOROOT.
//!
//! `weft go` finds its SDK without hashing its own binary: the first run of
//! a binary (by path, inode, size, mtime, ctime) hashes it and leaves a
//! pointer in `by-binary/`. The answer of `go env GOROOT GOVERSION` is
//! cached the same way, keyed by every input the go command reads to pick
//! its toolchain (see `goenv_key`).

use crate::embedded;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const MARKER: &str = "weft-sdk.json";

#[derive(Debug, Serialize, Deserialize)]
pub struct SdkInfo {
    pub real_goroot: PathBuf,
    pub go_version: String,
    pub weft_version: String,
    pub ruleset_hash: String,
    /// sha256 of the weft binary that made this SDK (the weaver).
    #[serde(default)]
    pub weft_binary: String,
}

/// Finds the real Go: `WEFT_GO` (a go binary), else `go` on PATH, as the
/// go command itself selects it: a GOTOOLCHAIN set by the user (say
/// `go1.22.10`, fetched through the module proxy) or a go.mod toolchain
/// line picks that toolchain, and weft wraps it. Returns GOROOT and version.
pub fn real_go() -> Result<(PathBuf, String)> {
    let go = std::env::var_os("WEFT_GO").unwrap_or_else(|| "go".into());
    let key = goenv_key(Path::new(&go));
    let cached = key.as_ref().map(|k| cache_dir().join("goenv").join(k));
    if let Some(text) = cached.as_ref().and_then(|c| fs::read_to_string(c).ok()) {
        if let Some((root, version)) = text.split_once('\n') {
            let root = PathBuf::from(root);
            if root.join("bin/go").is_file() && !version.trim().is_empty() {
                return Ok((root, version.trim().to_string()));
            }
        }
    }
    let started = std::time::SystemTime::now();
    let (root, version) = ask_go(&go)?;
    if let Some(c) = cached.filter(|_| key_settled(&go, started)) {
        let _ = write_atomic(&c, &format!("{}\n{version}\n", root.display()));
    }
    Ok((root, version))
}

fn ask_go(go: &std::ffi::OsStr) -> Result<(PathBuf, String)> {
    let out = Command::new(go)
        .args(["env", "GOROOT", "GOVERSION"])
        .env_remove("GOROOT")
        .output()
        .with_context(|| format!("running {:?} (is Go installed? set WEFT_GO to a go binary)", go))?;
    if !out.status.success() {
        bail!("`go env GOROOT` failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let root = PathBuf::from(lines.next().unwrap_or_default());
    let version = lines.next().unwrap_or_default().to_string();
    if root.join(MARKER).exists() {
        // The go on PATH is itself a wrapped SDK: wrap its real root instead.
        let info = read_info(&root)?;
        return Ok((info.real_goroot, info.go_version));
    }
    Ok((root, version))
}

/// The files the go command reads to pick its toolchain, with the go
/// binary first; None when the choice can depend on something else
/// (GOTOOLCHAIN=path searches PATH).
fn goenv_inputs(go: &Path) -> Option<(PathBuf, Vec<PathBuf>)> {
    let bin = if go.components().count() > 1 {
        std::env::current_dir().ok()?.join(go)
    } else {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).map(|d| d.join(go)).find(|p| is_executable(p))?
    };
    let mut files = vec![bin.clone()];
    if let Some(root) = fs::canonicalize(&bin).ok().as_deref().and_then(Path::parent).and_then(Path::parent) {
        files.push(root.join("go.env"));
    }
    files.push(user_go_env()?);
    if let Some(w) = std::env::var_os("GOWORK").filter(|w| !w.is_empty() && w != "off") {
        files.push(PathBuf::from(w));
    }
    let cwd = std::env::current_dir().ok()?;
    for dir in cwd.ancestors() {
        for f in ["go.mod", "go.work"] {
            files.push(dir.join(f));
        }
    }
    Some((bin, files))
}

/// The cache key of `go env GOROOT GOVERSION`.
fn goenv_key(go: &Path) -> Option<String> {
    let (bin, files) = goenv_inputs(go)?;
    let mut h = Sha256::new();
    h.update(b"goenv1\0");
    h.update(bin.as_os_str().as_encoded_bytes());
    let mut vars: Vec<(std::ffi::OsString, std::ffi::OsString)> = std::env::vars_os()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            k.starts_with("GO") || ["PATH", "HOME", "XDG_CONFIG_HOME", "WEFT_GO"].contains(&k.as_ref())
        })
        .collect();
    vars.sort();
    for (k, v) in &vars {
        if k == "GOTOOLCHAIN" && v.to_string_lossy().contains("path") {
            return None;
        }
        for part in [k, v] {
            h.update(part.as_encoded_bytes());
            h.update([0]);
        }
    }
    let user_env = fs::read_to_string(files.get(2)?).unwrap_or_default();
    if user_env.lines().any(|l| l.starts_with("GOTOOLCHAIN=") && l.contains("path")) {
        return None;
    }
    let mut st = crate::stamp::Stamper::default();
    for f in &files {
        h.update(f.as_os_str().as_encoded_bytes());
        h.update([0]);
        h.update(st.file(f).as_bytes());
        h.update([0]);
    }
    Some(hex::encode(&h.finalize()[..16]))
}

/// True when none of the go env inputs changed shortly before `started`.
fn key_settled(go: &std::ffi::OsStr, started: std::time::SystemTime) -> bool {
    let Some((_, files)) = goenv_inputs(Path::new(go)) else { return false };
    let mut st = crate::stamp::Stamper::default();
    for f in &files {
        st.file(f);
    }
    st.settled_before(started)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The user's go env file (`go env -w` writes it), as cmd/go finds it.
pub fn user_go_env() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GOENV").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|d| !d.is_empty()).map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("go").join("env"))
}

/// Writes a small file whole, through a rename.
pub fn write_atomic(path: &Path, content: &str) -> Result<()> {
    fs::create_dir_all(path.parent().unwrap())?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, content)?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

pub fn read_info(dir: &Path) -> Result<SdkInfo> {
    let p = dir.join(MARKER);
    let text = fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
}

fn tool_dir_name() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        o => o,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        a => a,
    };
    format!("{os}_{arch}")
}

/// The cache key of a wrapped SDK: real root, Go version, and the hash of
/// the weft binary (which embeds the runtime and rules).
pub fn cache_key(real_root: &Path, go_version: &str, weft_binary: &str) -> String {
    let mut h = Sha256::new();
    for part in [real_root.to_string_lossy().as_bytes(), go_version.as_bytes(), weft_binary.as_bytes()] {
        h.update(part);
        h.update([0]);
    }
    hex::encode(h.finalize())[..20].to_string()
}

/// sha256 of the running weft binary.
fn binary_hash(exe: &Path) -> Result<String> {
    Ok(hex::encode(Sha256::digest(fs::read(exe).with_context(|| format!("reading {}", exe.display()))?)))
}

/// Names this binary file as it is now (not its bytes), for the pointer
/// to its SDK.
fn binary_stamp(real_root: &Path, go_version: &str, exe: &Path) -> String {
    let stamp = crate::stamp::Stamper::default().file(exe);
    let mut h = Sha256::new();
    for part in [real_root.to_string_lossy().as_bytes(), go_version.as_bytes(), exe.as_os_str().as_encoded_bytes(), stamp.as_bytes()] {
        h.update(part);
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

/// The cache directory: `WEFT_CACHE`, else `$XDG_CACHE_HOME/weft`, else `~/.cache/weft`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("WEFT_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("weft");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    PathBuf::from(home).join(".cache").join("weft")
}

/// Returns the cached wrapped SDK for the real Go, creating it if needed.
/// Safe when several weft processes race: each builds into its own temp
/// directory and renames it into place; the loser discards its copy.
pub fn ensure_cached() -> Result<PathBuf> {
    let (root, version) = real_go()?;
    let exe = std::env::current_exe().context("locating the weft binary")?;
    let sdks = cache_dir().join("sdk");
    let pointer = cache_dir().join("by-binary").join(binary_stamp(&root, &version, &exe));
    if let Ok(name) = fs::read_to_string(&pointer) {
        let name = name.trim();
        let dir = sdks.join(name);
        if !name.contains('/') && dir.join(MARKER).exists() {
            used(&dir, name);
            return Ok(dir);
        }
    }
    let hash = binary_hash(&exe)?;
    let name = format!("{version}-{}", cache_key(&root, &version, &hash));
    let dir = sdks.join(&name);
    if !dir.join(MARKER).exists() {
        fs::create_dir_all(&sdks).with_context(|| format!("creating {}", sdks.display()))?;
        let tmp = sdks.join(format!(".tmp-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        build(&root, &version, &hash, &tmp)?;
        match fs::rename(&tmp, &dir) {
            Ok(()) => {}
            Err(_) if dir.join(MARKER).exists() => {
                let _ = fs::remove_dir_all(&tmp);
            }
            Err(e) => return Err(e).with_context(|| format!("moving the SDK into {}", dir.display())),
        }
    }
    // Only a pointer: a failure to write it costs the next run a hash.
    let _ = write_atomic(&pointer, &name);
    used(&dir, &name);
    Ok(dir)
}

/// Marks the SDK as used and trims the cache now and then (see [`crate::trim`]).
fn used(dir: &Path, name: &str) {
    let now = std::time::SystemTime::now();
    crate::trim::touch(dir, now);
    crate::trim::maybe_trim(&cache_dir(), name, now);
}

/// `weft sdk --out DIR`: builds a wrapped SDK at DIR (which must not exist
/// or be empty).
pub fn create(out: &Path) -> Result<()> {
    let (root, version) = real_go()?;
    if out.exists() && fs::read_dir(out)?.next().is_some() {
        bail!("{} exists and is not empty; choose a new directory", out.display());
    }
    let exe = std::env::current_exe().context("locating the weft binary")?;
    build(&root, &version, &binary_hash(&exe)?, out)
}

/// Tools that are weft too (beside `<name>.real`), to answer `-V=full`
/// without starting the real tool (cover and vet: see crate::overlaid).
const SHIMMED: [&str; 5] = ["asm", "cgo", "link", "cover", "vet"];

fn build(real: &Path, version: &str, weft_binary: &str, out: &Path) -> Result<()> {
    let exe = std::env::current_exe().context("locating the weft binary")?;
    fs::create_dir_all(out)?;
    for entry in fs::read_dir(real).with_context(|| format!("reading GOROOT {}", real.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let n = name.to_string_lossy();
        match n.as_ref() {
            "src" | "pkg" | "bin" | "go.env" => {}
            _ => symlink(entry.path(), out.join(&name))?,
        }
    }
    // go.env: the real one with GOTOOLCHAIN=local, so a go.mod toolchain
    // line never switches to an unwrapped Go.
    let env = fs::read_to_string(real.join("go.env")).unwrap_or_default();
    let mut lines: Vec<String> = env.lines().filter(|l| !l.starts_with("GOTOOLCHAIN=")).map(String::from).collect();
    lines.push("GOTOOLCHAIN=local".into());
    fs::write(out.join("go.env"), lines.join("\n") + "\n")?;

    let mut hard = true;
    mirror_src(&real.join("src"), &out.join("src"), false, &mut hard)?;
    for (path, bytes) in embedded::FILES {
        if let Some(rel) = path.strip_prefix("runtime/") {
            let dest = out.join("src").join(rel);
            fs::create_dir_all(dest.parent().unwrap())?;
            fs::write(dest, bytes)?;
        }
    }

    let pkg = out.join("pkg");
    fs::create_dir_all(&pkg)?;
    for entry in fs::read_dir(real.join("pkg"))? {
        let entry = entry?;
        if entry.file_name() != "tool" {
            symlink(entry.path(), pkg.join(entry.file_name()))?;
        }
    }
    let tool = tool_dir_name();
    let real_tools = real.join("pkg/tool").join(&tool);
    let tools = pkg.join("tool").join(&tool);
    fs::create_dir_all(&tools)?;
    for entry in fs::read_dir(&real_tools).with_context(|| format!("reading {}", real_tools.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "compile" {
            symlink(entry.path(), tools.join("compile.real"))?;
            fs::copy(&exe, tools.join("compile"))?;
        } else if SHIMMED.contains(&name.as_str()) {
            // Made after the loop: the compile shim may not be there yet.
            symlink(entry.path(), tools.join(format!("{name}.real")))?;
        } else {
            symlink(entry.path(), tools.join(entry.file_name()))?;
        }
    }

    for name in SHIMMED {
        if tools.join(format!("{name}.real")).exists() {
            fs::hard_link(tools.join("compile"), tools.join(name)).or_else(|_| fs::copy(tools.join("compile"), tools.join(name)).map(drop))?;
        }
    }

    let bin = out.join("bin");
    fs::create_dir_all(&bin)?;
    fs::copy(&exe, bin.join("go"))?;
    for entry in fs::read_dir(real.join("bin"))? {
        let entry = entry?;
        if entry.file_name() != "go" {
            symlink(entry.path(), bin.join(entry.file_name()))?;
        }
    }
    let info = SdkInfo {
        real_goroot: real.to_path_buf(),
        go_version: version.to_string(),
        weft_version: crate::compile::VERSION.to_string(),
        ruleset_hash: embedded::RULESET_HASH.to_string(),
        weft_binary: weft_binary.to_string(),
    };
    // Written last: its presence marks a complete SDK.
    fs::write(out.join(MARKER), serde_json::to_string_pretty(&info)? + "\n")?;
    Ok(())
}

/// Real directories of hard links (copies where `//go:embed` reads, or
/// where hard links fail).
fn mirror_src(from: &Path, to: &Path, copy: bool, hard: &mut bool) -> Result<()> {
    fs::create_dir_all(to)?;
    let mut entries: Vec<_> = fs::read_dir(from)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    let embeds = copy || entries.iter().any(|e| {
        let p = e.path();
        p.extension().is_some_and(|x| x == "go")
            && fs::read_to_string(&p).map(|s| s.contains("//go:embed")).unwrap_or(false)
    });
    for e in entries {
        let ft = e.file_type()?;
        let dest = to.join(e.file_name());
        // (A symlinked testdata directory would make the go command
        // stop indexing the package: every entry must be regular.)
        if ft.is_dir() {
            mirror_src(&e.path(), &dest, embeds, hard)?;
        } else if ft.is_symlink() {
            symlink(e.path(), &dest)?;
        } else if embeds && e.path().extension().is_none_or(|x| x != "go") {
            fs::copy(e.path(), &dest).with_context(|| format!("copying {}", e.path().display()))?;
        } else {
            link_or_copy(&e.path(), &dest, hard)?;
        }
    }
    Ok(())
}

/// A hard link, else (and from then on) a copy.
fn link_or_copy(from: &Path, to: &Path, hard: &mut bool) -> Result<()> {
    if *hard {
        match fs::hard_link(from, to) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(e).with_context(|| format!("linking {}", to.display()))
            }
            Err(_) => *hard = false,
        }
    }
    fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn link_or_copy_links_and_falls_back_to_copies() {
        let a = tempfile::tempdir().unwrap();
        let src = a.path().join("f.go");
        fs::write(&src, "package f\n").unwrap();
        let mut hard = true;
        let linked = a.path().join("linked.go");
        link_or_copy(&src, &linked, &mut hard).unwrap();
        assert!(hard);
        assert_eq!(fs::metadata(&linked).unwrap().ino(), fs::metadata(&src).unwrap().ino());
        assert!(link_or_copy(&src, &linked, &mut hard).is_err(), "never copies over an existing file");
        assert_eq!(fs::read_to_string(&src).unwrap(), "package f\n");
        // Across filesystems (tmpfs to here) the link fails: a copy, and copies from then on.
        let other = tempfile::tempdir_in("/dev/shm").unwrap();
        assert_ne!(fs::metadata(other.path()).unwrap().dev(), fs::metadata(a.path()).unwrap().dev());
        let far = other.path().join("g.go");
        fs::write(&far, "package g\n").unwrap();
        let copied = a.path().join("copied.go");
        link_or_copy(&far, &copied, &mut hard).unwrap();
        assert!(!hard);
        assert!(fs::symlink_metadata(&copied).unwrap().file_type().is_file());
        assert_eq!(fs::read_to_string(&copied).unwrap(), "package g\n");
        let again = a.path().join("again.go");
        link_or_copy(&src, &again, &mut hard).unwrap();
        assert_ne!(fs::metadata(&again).unwrap().ino(), fs::metadata(&src).unwrap().ino());
    }
}
