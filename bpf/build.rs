//! Builds the probes: `src/bpf/weft.bpf.c` into a BPF object and its Rust
//! skeleton (libbpf-cargo's SkeletonBuilder, clang `-target bpf`), and the
//! event structs of `src/bpf/weft_events.h` into Rust (bindgen).
//! `src/bpf/include/vmlinux.h` is committed (see its first lines), so the
//! build never reads the build host's kernel.
use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let src = "src/bpf/weft.bpf.c";
    // -mcpu=v3: atomics that return the old value (weft.bpf.c claims its
    // scratch slots with them; kernel 5.12+, and bpf_loop needs 5.17).
    // The probes name registers through src/bpf/goabi.bpf.h. Only amd64 is
    // built and loaded; on other targets the same amd64 object is embedded
    // so weft still compiles, and prereq refuses to load it with one line.
    SkeletonBuilder::new()
        .source(src)
        .clang_args(["-Wall", "-Wno-unused-function", "-D__TARGET_ARCH_x86", "-mcpu=v3"])
        .build_and_generate(out.join("weft.skel.rs"))
        .unwrap_or_else(|e| panic!("building the BPF probes ({src}) failed: {e:#}\n(needs clang with the BPF target: apt-get install clang)"));
    bindgen::Builder::default()
        .header("src/bpf/weft_events.h")
        .allowlist_type("weft_.*")
        .allowlist_var("WEFT_.*")
        .derive_default(true)
        .generate()
        .expect("bindgen on src/bpf/weft_events.h (needs libclang: apt-get install libclang-dev)")
        .write_to_file(out.join("weft_events.rs"))
        .unwrap();
    println!("cargo:rerun-if-changed=src/bpf");
}
