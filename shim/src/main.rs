//! The `weft` binary. One file plays three parts, chosen by argv[0]:
//! `compile` (the shim in a wrapped SDK; `asm`, `cgo`, `link`, `cover`
//! and `vet` there too), `go` (the SDK's bin/go), or the
//! `weft` command line.
use std::ffi::OsString;
use std::path::Path;

fn main() {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_else(|| OsString::from("weft"));
    let rest: Vec<OsString> = args.collect();
    let name = Path::new(&argv0).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match name.as_str() {
        "compile" | "compile.exe" => weft::compile::main(argv0, rest),
        "asm" | "cgo" | "link" | "cover" | "vet" => weft::compile::tool_main(argv0, rest),
        "go" | "go.exe" => {
            default_sigpipe();
            weft::gomode::main(argv0, rest)
        }
        _ => {
            default_sigpipe();
            std::process::exit(weft::cli::main(argv0, rest))
        }
    }
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`weft inspect BIN
/// | head -3`) panics; a command-line tool should end quietly instead, as
/// the go command does. (Sockets are unaffected: std sends with
/// MSG_NOSIGNAL.)
fn default_sigpipe() {
    // SAFETY: sets a signal disposition before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}
