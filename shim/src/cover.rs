//! The cover shim: `pkg/tool/<os>_<arch>/cover` in a wrapped SDK.
//!
//! With `-cover` the go command runs cover on a package's files before
//! compiling them, naming each by its path on disk: a file that only an
//! `-overlay` provides is not there, and cover fails. weft's link file
//! (`zz_weft_link.go`, added to each program's main package through the
//! overlay) is such a file, so it is named here by the path of the file
//! the overlay points at. It holds no statement (a variable initializer
//! sets the manifest), so it adds nothing to the user's coverage. Go mode
//! names its overlay in `WEFT_GO_OVERLAY`; all else is the real cover's.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

/// Set by go mode for the go command it runs: the overlay JSON it wrote.
pub const OVERLAY_ENV: &str = "WEFT_GO_OVERLAY";

/// Cover's arguments with weft's link files, missing on disk, replaced by
/// the files the overlay maps them to; None when none is named.
pub fn rewrite(args: &[OsString]) -> Option<Vec<OsString>> {
    let overlay = std::env::var_os(OVERLAY_ENV).filter(|v| !v.is_empty())?;
    let ours = |p: &Path| p.file_name().is_some_and(|n| n == crate::gomode::LINK_FILE) && !p.exists();
    if !args.iter().any(|a| ours(Path::new(a))) {
        return None;
    }
    let replace = read_overlay(Path::new(&overlay));
    let out = args
        .iter()
        .map(|a| match replace.get(&*a.to_string_lossy()) {
            Some(actual) if ours(Path::new(a)) && !actual.is_empty() => OsString::from(actual),
            _ => a.clone(),
        })
        .collect();
    Some(out)
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
