//! The wrapped Go SDK: a GOROOT that mirrors the real one, with weft's
//! compile shim in front of the real compiler and the runtime as
//! `src/weft/...`. Plain `go`, Nix and rules_go all build through it.
//!
//! Layout (DIR is the wrapped root):
//! * `src/` real directories holding per-file symlinks (the go command skips
//!   symlinked directories when it walks std), plus `src/weft/...` copied
//!   from the embedded runtime; files read by `//go:embed` are copies too.
//! * `pkg/tool/<os>_<arch>/` the only tool directory: `compile` is a copy
//!   of weft, `compile.real` links the real compiler, other tools link.
//! * `bin/go` a copy of weft (go mode), `go.env` with `GOTOOLCHAIN=local`,
//!   `weft-sdk.json` naming the real GOROOT.

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
    let out = Command::new(&go)
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

/// The cache key of a wrapped SDK: real root, Go version, and this weft
/// binary's own bytes (which embed the runtime and rules).
pub fn cache_key(real_root: &Path, go_version: &str) -> Result<String> {
    let exe = std::env::current_exe().context("locating the weft binary")?;
    let mut h = Sha256::new();
    h.update(real_root.to_string_lossy().as_bytes());
    h.update([0]);
    h.update(go_version.as_bytes());
    h.update([0]);
    h.update(fs::read(&exe).with_context(|| format!("reading {}", exe.display()))?);
    Ok(hex::encode(h.finalize())[..20].to_string())
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
    let dir = cache_dir().join("sdk").join(format!("{version}-{}", cache_key(&root, &version)?));
    if dir.join(MARKER).exists() {
        return Ok(dir);
    }
    let parent = dir.parent().unwrap();
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(".tmp-{}-{}", std::process::id(), dir.file_name().unwrap().to_string_lossy()));
    let _ = fs::remove_dir_all(&tmp);
    build(&root, &version, &tmp)?;
    match fs::rename(&tmp, &dir) {
        Ok(()) => {}
        Err(_) if dir.join(MARKER).exists() => {
            let _ = fs::remove_dir_all(&tmp);
        }
        Err(e) => return Err(e).with_context(|| format!("moving the SDK into {}", dir.display())),
    }
    Ok(dir)
}

/// `weft sdk --out DIR`: builds a wrapped SDK at DIR (which must not exist
/// or be empty).
pub fn create(out: &Path) -> Result<()> {
    let (root, version) = real_go()?;
    if out.exists() && fs::read_dir(out)?.next().is_some() {
        bail!("{} exists and is not empty; choose a new directory", out.display());
    }
    build(&root, &version, out)
}

fn build(real: &Path, version: &str, out: &Path) -> Result<()> {
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

    mirror_src(&real.join("src"), &out.join("src"), false)?;
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
        if entry.file_name() == "compile" {
            symlink(entry.path(), tools.join("compile.real"))?;
            fs::copy(&exe, tools.join("compile"))?;
        } else {
            symlink(entry.path(), tools.join(entry.file_name()))?;
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
        weft_binary: hex::encode(Sha256::digest(fs::read(&exe)?)),
    };
    // Written last: its presence marks a complete SDK.
    fs::write(out.join(MARKER), serde_json::to_string_pretty(&info)? + "\n")?;
    Ok(())
}

/// Real directories, per-file symlinks; copies where `//go:embed` reads.
fn mirror_src(from: &Path, to: &Path, copy: bool) -> Result<()> {
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
        if ft.is_dir() {
            mirror_src(&e.path(), &dest, embeds)?;
        } else if embeds && !e.path().extension().is_some_and(|x| x == "go") {
            fs::copy(e.path(), &dest)?;
        } else {
            symlink(e.path(), &dest)?;
        }
    }
    Ok(())
}
