//! Cheap fingerprints of files and directories, for the caches that let a
//! warm `weft go build` skip work (the go env answer, the build plan).
//!
//! A stamp is a string that changes whenever the thing it stamps may have:
//! device, inode, size, mtime and ctime (which no one can set back) of a
//! file; of a directory, the name and type of every subdirectory and the
//! name and file stamp of every file the go command reads (not, say, the
//! binary `go build` writes there). `newest` records the latest mtime seen, so
//! a cache entry is not written from files changed too recently to tell
//! apart (the go command's own index waits 2 s for the same reason).

use sha2::{Digest, Sha256};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Files younger than this are not trusted to a cache.
pub const SETTLE: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct Stamper {
    /// The latest mtime seen, in nanoseconds since the epoch.
    pub newest: i128,
}

impl Stamper {
    fn meta(&mut self, m: &std::fs::Metadata) -> String {
        let mtime = m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128;
        let ctime = m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128;
        self.newest = self.newest.max(mtime).max(ctime);
        format!("{}:{}:{}:{}:{}:{:o}", m.dev(), m.ino(), m.size(), mtime, ctime, m.mode())
    }

    /// A file (symlinks followed); "-" when it does not exist.
    pub fn file(&mut self, path: &Path) -> String {
        match std::fs::metadata(path) {
            Ok(m) => self.meta(&m),
            Err(_) => "-".into(),
        }
    }

    /// A directory's entries (not recursive); "-" when unreadable.
    pub fn dir(&mut self, path: &Path) -> String {
        let Ok(rd) = std::fs::read_dir(path) else { return "-".into() };
        let mut h = Sha256::new();
        let mut entries: Vec<(std::ffi::OsString, String)> = rd
            .filter_map(Result::ok)
            .map(|e| {
                let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                let s = if is_dir { "d".to_string() } else { self.file(&e.path()) };
                (e.file_name(), s)
            })
            .filter(|(name, s)| s == "d" || go_input(&name.to_string_lossy()))
            .collect();
        entries.sort();
        for (name, s) in entries {
            h.update(name.as_encoded_bytes());
            h.update([0]);
            h.update(s.as_bytes());
            h.update([0]);
        }
        hex::encode(&h.finalize()[..16])
    }

    /// True when nothing stamped changed within SETTLE before `start`.
    pub fn settled_before(&self, start: SystemTime) -> bool {
        let start = start.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as i128;
        self.newest < start - SETTLE.as_nanos() as i128
    }
}

/// Files the go command reads to list a package (not, say, the binary a
/// `go build` writes into the package directory).
fn go_input(name: &str) -> bool {
    const EXT: &[&str] = &[
        "go", "s", "S", "sx", "c", "h", "cc", "cpp", "cxx", "hh", "hpp", "hxx", "m", "f", "F", "for", "f90", "swig",
        "swigcxx", "syso", "mod", "sum", "work", "txt",
    ];
    name.rsplit_once('.').is_some_and(|(_, ext)| EXT.contains(&ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_change_with_content_and_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("a.go");
        std::fs::write(&f, "package a\n").unwrap();
        let mut s = Stamper::default();
        let (f1, d1) = (s.file(&f), s.dir(tmp.path()));
        assert_eq!(s.file(&f), f1);
        assert_eq!(s.dir(tmp.path()), d1);
        assert!(!s.settled_before(SystemTime::now()), "a file just written is not settled");
        // Same size, mtime set back: the ctime still moves.
        let old = std::fs::metadata(&f).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&f, "package b\n").unwrap();
        std::fs::File::options().write(true).open(&f).unwrap().set_modified(old).unwrap();
        assert_ne!(s.file(&f), f1);
        assert_ne!(s.dir(tmp.path()), d1);
        let d2 = s.dir(tmp.path());
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        assert_ne!(s.dir(tmp.path()), d2, "a new subdirectory changes the stamp");
        assert_eq!(s.file(&tmp.path().join("none")), "-");
        let d3 = s.dir(tmp.path());
        std::fs::write(tmp.path().join("a.out"), "binary").unwrap();
        assert_eq!(s.dir(tmp.path()), d3, "a build's output is not an input");
    }
}
