//! Trims the cache the way the go command trims its build cache: a
//! wrapped SDK (~65 MB, one per weft binary and Go release) that no build
//! used for [`KEEP`] is removed, checked at most once per [`EVERY`].
//!
//! Use is the mtime of the SDK's marker file, refreshed by [`touch`] at
//! most once an hour. A removed SDK is renamed first, so no build ever
//! sees half of one; a later `weft go` that wants it again rebuilds it.
//! Pointers in `by-binary/` to removed SDKs go too, and temp or trash
//! directories a killed weft left behind. The small entries (`plan/`,
//! `toolid/`, `goenv/`, `link/`: a few KB each) are left alone. Trimming
//! never fails a build: errors are only reported under WEFT_DEBUG.

use crate::sdk::MARKER;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

const DAY: Duration = Duration::from_secs(24 * 3600);
/// An SDK unused this long is removed.
pub const KEEP: Duration = Duration::from_secs(5 * 24 * 3600);
/// The cache is checked at most this often.
pub const EVERY: Duration = DAY;
const TOUCH: Duration = Duration::from_secs(3600);
/// Its mtime is the last trim, in the cache directory.
const STAMP: &str = "trimmed";

/// Marks the SDK at `dir` as used now.
pub fn touch(dir: &Path, now: SystemTime) {
    let marker = dir.join(MARKER);
    let old = fs::metadata(&marker).and_then(|m| m.modified()).is_ok_and(|t| older(t, now, TOUCH));
    if old {
        let _ = fs::File::options().write(true).open(&marker).and_then(|f| f.set_modified(now));
    }
}

/// Trims `cache` if the last trim is older than [`EVERY`], sparing the SDK
/// named `keep`.
pub fn maybe_trim(cache: &Path, keep: &str, now: SystemTime) {
    let stamp = cache.join(STAMP);
    match fs::metadata(&stamp).and_then(|m| m.modified()) {
        Ok(t) if !older(t, now, EVERY) => return,
        _ => {}
    }
    // Claim this trim first: concurrent builds then skip it.
    if fs::write(&stamp, "").is_err() {
        return;
    }
    if let Err(e) = trim(cache, keep, now) {
        if std::env::var_os("WEFT_DEBUG").is_some_and(|v| !v.is_empty()) {
            eprintln!("weft: trimming the cache {}: {e}", cache.display());
        }
    }
}

/// Removes what [`maybe_trim`] removes, now; returns the SDK names removed.
pub fn trim(cache: &Path, keep: &str, now: SystemTime) -> std::io::Result<Vec<String>> {
    let sdks = cache.join("sdk");
    let mut removed = Vec::new();
    for entry in fs::read_dir(&sdks)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == keep || !entry.file_type()?.is_dir() {
            continue;
        }
        let path = entry.path();
        if name.starts_with(".tmp-") || name.starts_with(".trash-") {
            // Left by a killed weft; a live one finishes within minutes.
            if modified(&path).is_some_and(|t| older(t, now, DAY)) {
                fs::remove_dir_all(&path)?;
            }
            continue;
        }
        // No marker: a directory that is not an SDK of ours; leave it.
        if !modified(&path.join(MARKER)).is_some_and(|t| older(t, now, KEEP)) {
            continue;
        }
        let trash = sdks.join(format!(".trash-{}-{name}", std::process::id()));
        fs::rename(&path, &trash)?;
        fs::remove_dir_all(&trash)?;
        removed.push(name);
    }
    if let Ok(pointers) = fs::read_dir(cache.join("by-binary")) {
        for entry in pointers.flatten() {
            let target = fs::read_to_string(entry.path()).unwrap_or_default();
            let target = target.trim();
            if target.is_empty() || target.contains('/') || !sdks.join(target).join(MARKER).exists() {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    Ok(removed)
}

fn modified(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// True when `t` lies more than `age` before `now`.
fn older(t: SystemTime, now: SystemTime, age: Duration) -> bool {
    now.duration_since(t).is_ok_and(|d| d > age)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk(cache: &Path, name: &str, used: SystemTime) {
        let dir = cache.join("sdk").join(name);
        fs::create_dir_all(dir.join("src/fmt")).unwrap();
        fs::write(dir.join("src/fmt/print.go"), "package fmt\n").unwrap();
        fs::write(dir.join(MARKER), "{}").unwrap();
        fs::File::options().write(true).open(dir.join(MARKER)).unwrap().set_modified(used).unwrap();
    }

    fn pointer(cache: &Path, name: &str, to: &str) {
        fs::create_dir_all(cache.join("by-binary")).unwrap();
        fs::write(cache.join("by-binary").join(name), to).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn removes_sdks_unused_for_five_days_and_their_pointers() {
        let c = tempfile::tempdir().unwrap();
        let cache = c.path();
        let now = SystemTime::now();
        sdk(cache, "go1.25-old", now - KEEP - DAY);
        sdk(cache, "go1.25-recent", now - KEEP + DAY);
        sdk(cache, "go1.25-current", now - KEEP - DAY);
        fs::create_dir_all(cache.join("sdk/not-ours")).unwrap();
        let crashed = cache.join("sdk/.tmp-99-go1.25-x");
        fs::create_dir_all(&crashed).unwrap();
        fs::File::open(&crashed).unwrap().set_modified(now - 2 * DAY).unwrap();
        fs::create_dir_all(cache.join("sdk/.tmp-98-go1.25-y")).unwrap();
        pointer(cache, "a", "go1.25-old");
        pointer(cache, "b", "go1.25-recent");
        pointer(cache, "c", "go1.25-current");
        pointer(cache, "d", "../escape");

        let removed = trim(cache, "go1.25-current", now).unwrap();
        assert_eq!(removed, ["go1.25-old"]);
        assert_eq!(names(&cache.join("sdk")), [".tmp-98-go1.25-y", "go1.25-current", "go1.25-recent", "not-ours"]);
        assert_eq!(names(&cache.join("by-binary")), ["b", "c"]);
    }

    #[test]
    fn trims_at_most_once_a_day() {
        let c = tempfile::tempdir().unwrap();
        let cache = c.path();
        let now = SystemTime::now();
        sdk(cache, "go1.25-a", now - KEEP - DAY);
        maybe_trim(cache, "go1.25-b", now);
        assert!(!cache.join("sdk/go1.25-a").exists());
        sdk(cache, "go1.25-a", now - KEEP - DAY);
        maybe_trim(cache, "go1.25-b", now + EVERY / 2);
        assert!(cache.join("sdk/go1.25-a").exists(), "checked again within a day");
        maybe_trim(cache, "go1.25-b", now + EVERY + Duration::from_secs(60));
        assert!(!cache.join("sdk/go1.25-a").exists());
    }

    #[test]
    fn touch_refreshes_an_hour_old_mark_only() {
        let c = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let at = |name: &str| modified(&c.path().join("sdk").join(name).join(MARKER)).unwrap();
        sdk(c.path(), "a", now - KEEP);
        touch(&c.path().join("sdk/a"), now);
        assert_eq!(at("a"), now);
        sdk(c.path(), "b", now - Duration::from_secs(60));
        touch(&c.path().join("sdk/b"), now);
        assert_eq!(at("b"), now - Duration::from_secs(60));
    }
}
