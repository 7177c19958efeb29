//! Go version and module versions from a binary's `.go.buildinfo` blob.
//!
//! Hand-written (a few dozen lines; no Rust crate reads Go's buildinfo): the
//! layout is `cmd/go`'s, the one `debug/buildinfo` reads — a 32-byte
//! header ("\xff Go buildinf:", pointer size, flags) followed, since Go
//! 1.18 (flag bit 2, "inline strings"), by two varint-prefixed strings: the
//! Go version and the module info (`path`, `mod`, `dep`, `=>` and `build`
//! lines between 16-byte sentinels). Older pointer-based blobs are reported
//! as unsupported: weft needs Go 1.22+ anyway.

use anyhow::{bail, Result};

pub const MAGIC: &[u8] = b"\xff Go buildinf:";

/// One module line (`mod`, `dep`, or the replacement of the previous `dep`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    pub version: String,
}

#[derive(Debug, Clone, Default)]
pub struct BuildInfo {
    /// "go1.26.8"
    pub go_version: String,
    /// The main package path ("example.com/server").
    pub path: String,
    pub main: Option<Module>,
    /// Dependencies, replacements applied.
    pub deps: Vec<Module>,
}

impl BuildInfo {
    /// (major, minor) of the Go release, e.g. (1, 26) for "go1.26.8".
    pub fn go_release(&self) -> Option<(u32, u32)> {
        let v = self.go_version.strip_prefix("go")?;
        let mut it = v.split(|c: char| !c.is_ascii_digit());
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    }

    pub fn dep(&self, path: &str) -> Option<&Module> {
        self.deps.iter().find(|m| m.path == path)
    }
}

/// Finds the blob in `data` (a whole file or the `.go.buildinfo` section)
/// at a 16-byte boundary, as the Go linker aligns it, and parses it.
pub fn find_and_parse(data: &[u8]) -> Result<Option<BuildInfo>> {
    let mut i = 0;
    while i + 32 <= data.len() {
        match memfind(&data[i..], MAGIC) {
            None => return Ok(None),
            Some(j) => {
                let at = i + j;
                if at % 16 == 0 {
                    return parse(&data[at..]).map(Some);
                }
                i = at + 1;
            }
        }
    }
    Ok(None)
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses a blob that starts with [`MAGIC`].
pub fn parse(blob: &[u8]) -> Result<BuildInfo> {
    if blob.len() < 32 || !blob.starts_with(MAGIC) {
        bail!("no Go build information");
    }
    let flags = blob[15];
    if flags & 2 == 0 {
        bail!("Go build information from before Go 1.18 (pointer format); weft's eBPF path needs Go 1.22 or newer");
    }
    let mut rest = &blob[32..];
    let version = read_varbytes(&mut rest)?;
    let modinfo = read_varbytes(&mut rest)?;
    let mut bi = parse_modinfo(&modinfo);
    bi.go_version = String::from_utf8_lossy(&version).into_owned();
    Ok(bi)
}

fn read_varbytes(b: &mut &[u8]) -> Result<Vec<u8>> {
    let (mut n, mut shift, mut used) = (0u64, 0u32, 0usize);
    loop {
        let Some(&c) = b.get(used) else { bail!("truncated Go build information") };
        used += 1;
        n |= u64::from(c & 0x7f) << shift;
        if c & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            bail!("bad varint in Go build information");
        }
    }
    let n = n as usize;
    if b.len() < used + n {
        bail!("truncated Go build information");
    }
    let s = b[used..used + n].to_vec();
    *b = &b[used + n..];
    Ok(s)
}

/// Parses the module info text (sentinels optional).
pub fn parse_modinfo(s: &[u8]) -> BuildInfo {
    let s = if s.len() >= 33 && s[s.len() - 17] == b'\n' { &s[16..s.len() - 16] } else { s };
    let s = String::from_utf8_lossy(s);
    let mut bi = BuildInfo::default();
    for line in s.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let module = || Module {
            path: f.get(1).unwrap_or(&"").to_string(),
            version: f.get(2).unwrap_or(&"").to_string(),
        };
        match f[0] {
            "path" => bi.path = f.get(1).unwrap_or(&"").to_string(),
            "mod" => bi.main = Some(module()),
            "dep" => bi.deps.push(module()),
            "=>" => {
                if let Some(last) = bi.deps.last_mut() {
                    if !module().version.is_empty() {
                        last.version = module().version;
                    }
                }
            }
            _ => {}
        }
    }
    bi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_inline_blob() {
        let mut modinfo = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6".to_vec();
        modinfo.extend(b"path\texample.com/srv\nmod\texample.com/srv\t(devel)\t\ndep\tgithub.com/go-sql-driver/mysql\tv1.8.1\th1:x=\n");
        modinfo.extend(b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2");
        let mut blob = MAGIC.to_vec();
        blob.extend([8, 2]);
        blob.resize(32, 0);
        blob.push(8);
        blob.extend(b"go1.26.8");
        let mb = &modinfo;
        blob.push((mb.len() & 0x7f) as u8 | 0x80);
        blob.push((mb.len() >> 7) as u8);
        blob.extend(mb);
        let bi = parse(&blob).unwrap();
        assert_eq!(bi.go_version, "go1.26.8");
        assert_eq!(bi.go_release(), Some((1, 26)));
        assert_eq!(bi.path, "example.com/srv");
        assert_eq!(bi.dep("github.com/go-sql-driver/mysql").unwrap().version, "v1.8.1");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"not go").is_err());
        assert!(find_and_parse(&[0u8; 100]).unwrap().is_none());
    }
}
