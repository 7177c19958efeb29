//! `weft view`, and the built-in receiver behind `weft go run`: receive
//! OTLP/HTTP on loopback and print each finished trace as a tree (stderr,
//! so the program's own stdout stays clean).

use crate::receiver::{start_view, PrintOptions, Receiver};
use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io::IsTerminal;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Command;

/// How traces print; `WEFT_VIEW_ATTRIBUTES=1` shows every attribute (for
/// `weft go run`, whose flags are go's).
fn options() -> PrintOptions {
    let attributes = std::env::var("WEFT_VIEW_ATTRIBUTES").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    PrintOptions { color: std::io::stderr().is_terminal(), attributes, ..PrintOptions::default() }
}

/// `weft view --listen ADDR [--attributes]`: prints traces until interrupted.
pub fn serve(listen: &str, attributes: bool) -> Result<i32> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let mut opts = options();
    opts.attributes |= attributes;
    let rx = start_view(listen, opts, Box::new(std::io::stderr()))
        .with_context(|| format!("cannot listen on {listen}"))?;
    signals.forever().next();
    rx.finish();
    Ok(0)
}

/// `weft go run` with no endpoint configured: starts a receiver (on
/// 127.0.0.1:4318 when free, so other local services can send to it too),
/// points the program at it, runs it, then prints what is left.
pub fn run_with_receiver(mut cmd: Command) -> Result<i32> {
    let rx = Receiver::start_printing("127.0.0.1:4318", options(), Box::new(std::io::stderr()))
        .or_else(|_| Receiver::start_printing("127.0.0.1:0", options(), Box::new(std::io::stderr())))
        .context("starting the built-in OTLP receiver")?;
    eprintln!("weft: receiving traces at {} (set OTEL_EXPORTER_OTLP_ENDPOINT to send them elsewhere)", rx.endpoint());
    cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint());
    // The receiver speaks OTLP/HTTP, whatever the environment asked for.
    cmd.env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf").env_remove("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
    if std::env::var_os("OTEL_BSP_SCHEDULE_DELAY").is_none() {
        cmd.env("OTEL_BSP_SCHEDULE_DELAY", "200");
    }
    // Without a terminal, the program gets its own process group, and
    // signals sent to weft are passed on to that whole group (`go run`
    // itself ignores SIGINT). With a terminal, Ctrl-C reaches everyone.
    let own_group = !std::io::stdin().is_terminal();
    if own_group {
        cmd.process_group(0);
    }
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let handle = signals.handle();
    let mut child = cmd.spawn().context("running the go command")?;
    let pid = child.id() as i32;
    let forwarder = std::thread::spawn(move || {
        for sig in signals.forever() {
            // SAFETY: plain kill(2) calls on our own child.
            unsafe {
                if own_group {
                    libc::kill(-pid, sig);
                } else {
                    libc::kill(pid, sig);
                }
            }
        }
    });
    let status = child.wait().context("waiting for the go command")?;
    handle.close();
    let _ = forwarder.join();
    rx.finish();
    Ok(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(1)))
}
