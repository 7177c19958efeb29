//! Tools that read a package's files by their paths on disk, ignoring the
//! go command's `-overlay`: cover (`-cover`) on every Go release, and vet
//! (run by `go test`) on Go 1.22, which names the files in its vet.cfg.
//! weft's link file (`zz_weft_link.go`, added to each program's main
//! package through the overlay) is not on disk, so these tools would fail.
//! The SDK's `cover` and `vet` are weft shims (like asm, cgo and link) that
//! name it by the file the overlay maps it to, and leave all else as it
//! is. The link file holds no statement (a variable initializer sets the
//! manifest), so cover counts nothing of it. Go mode names its overlay in
//! `WEFT_GO_OVERLAY`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

/// Set by go mode for the go command it runs: the overlay JSON it wrote.
pub const OVERLAY_ENV: &str = "WEFT_GO_OVERLAY";

/// The tool's arguments with weft's link file named by its real path;
/// None when there is nothing to change.
pub fn rewrite(tool: &str, args: &[OsString]) -> Option<Vec<OsString>> {
    if tool != "cover" && tool != "vet" {
        return None;
    }
    let overlay = std::env::var_os(OVERLAY_ENV).filter(|v| !v.is_empty())?;
    // Read only once a link file is named: most runs name none.
    let replace = std::cell::OnceCell::new();
    let actual = |path: &str| -> Option<String> {
        let p = Path::new(path);
        if p.file_name()? != crate::gomode::LINK_FILE || p.exists() {
            return None;
        }
        let replace = replace.get_or_init(|| read_overlay(Path::new(&overlay)));
        replace.get(path).filter(|a| !a.is_empty()).cloned()
    };
    match tool {
        "cover" => {
            let mut changed = false;
            let out = args
                .iter()
                .map(|a| match actual(&a.to_string_lossy()) {
                    Some(real) => {
                        changed = true;
                        OsString::from(real)
                    }
                    None => a.clone(),
                })
                .collect();
            changed.then_some(out)
        }
        "vet" => {
            let cfg = args.last()?.to_string_lossy().into_owned();
            if !cfg.ends_with("vet.cfg") {
                return None;
            }
            let text = std::fs::read(&cfg).ok()?;
            if !text.windows(crate::gomode::LINK_FILE.len()).any(|w| w == crate::gomode::LINK_FILE.as_bytes()) {
                return None;
            }
            let mut v: serde_json::Value = serde_json::from_slice(&text).ok()?;
            let mut changed = false;
            for f in v.get_mut("GoFiles")?.as_array_mut()? {
                if let Some(real) = f.as_str().and_then(actual) {
                    *f = real.into();
                    changed = true;
                }
            }
            if !changed {
                return None;
            }
            // (vet insists on a name ending in .cfg)
            let ours = format!("{}weft.cfg", cfg.strip_suffix("cfg")?);
            std::fs::write(&ours, serde_json::to_vec(&v).ok()?).ok()?;
            let mut out = args.to_vec();
            *out.last_mut()? = ours.into();
            Some(out)
        }
        _ => None,
    }
}

/// The overlay's Replace map (empty when it cannot be read).
fn read_overlay(path: &Path) -> BTreeMap<String, String> {
    #[derive(serde::Deserialize)]
    struct Overlay {
        #[serde(rename = "Replace")]
        replace: BTreeMap<String, String>,
    }
    std::fs::read(path).ok().and_then(|b| serde_json::from_slice::<Overlay>(&b).ok()).map(|o| o.replace).unwrap_or_default()
}
