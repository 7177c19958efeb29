//! Embeds runtime/weft and rules/ into the binary and computes the rule-set
//! hash: sha256 over every embedded path and its bytes, in sorted order.
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::{env, fs};

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            if name != "testdata" {
                walk(root, &p, out);
            }
        } else if !name.ends_with("_test.go") && !name.starts_with('.') && name != "README.md" {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            out.push((rel, p));
        }
    }
}

fn main() {
    let top = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("..");
    let top = top.canonicalize().unwrap();
    let mut files = Vec::new();
    for sub in ["runtime/weft", "rules"] {
        let dir = top.join(sub);
        println!("cargo:rerun-if-changed={}", dir.display());
        if dir.exists() {
            walk(&top, &dir, &mut files);
        }
    }
    files.sort();
    let mut hash = Sha256::new();
    let mut code = String::from("pub static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = fs::read(path).unwrap();
        hash.update((rel.len() as u64).to_le_bytes());
        hash.update(rel.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
        code.push_str(&format!("    ({:?}, include_bytes!({:?})),\n", rel, path.display().to_string()));
    }
    code.push_str("];\n");
    code.push_str(&format!("pub const RULESET_HASH: &str = {:?};\n", hex::encode(hash.finalize())));
    fs::write(PathBuf::from(env::var("OUT_DIR").unwrap()).join("embedded.rs"), code).unwrap();
}
