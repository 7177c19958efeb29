//! Bad input gets a clear error and loses nothing: broken rules, Go code
//! that does not parse, a collector that is down; and a program no rule
//! touches builds to the very same bytes as with plain go.

mod support;

use std::path::Path;
use std::process::Command;
use support::*;
use weft::receiver::SpanKind;

fn go_dir(name: &str) -> std::path::PathBuf {
    repo().join("tests/go").join(name)
}

#[test]
fn untouched_program_is_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("weft"), tmp.path().join("plain"));
    let dir = go_dir("plain");
    let out = run_ok(&mut weft_go(&dir, &["build", "-trimpath", "-o", a.to_str().unwrap(), "."]));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    run_ok(Command::new("go").args(["build", "-trimpath", "-o", b.to_str().unwrap(), "."]).current_dir(&dir));
    assert_eq!(sha256(&a), sha256(&b));
}

#[test]
fn malformed_rule_json_names_file_line_col() {
    let rules = repo().join("tests/rules/badjson");
    let out = weft_go(&go_dir("plain"), &["build", "-o", "/dev/null", "."]).env("WEFT_RULES", &rules).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}/broken.json:5:", rules.display())), "{err}");
    assert!(err.contains("invalid rule"), "{err}");
    // And `weft rules check` says the same.
    let out = Command::new(weft()).args(["rules", "check"]).arg(&rules).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.json:5:"));
}

#[test]
fn go_syntax_error_reaches_the_user_from_go_itself() {
    let rules = repo().join("tests/rules/usersyntax");
    let out = weft_go(&go_dir("badsyntax"), &["build", "-o", "/dev/null", "."]).env("WEFT_RULES", &rules).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // The compiler's own message, pointing at the user's file and line.
    assert!(err.contains("lib/lib.go:5:1: syntax error"), "{err}");
    assert!(!err.contains("weft:"), "{err}");
}

#[test]
fn collector_down_does_not_break_the_program() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("hello");
    run_ok(&mut weft_go(&go_dir("hello"), &["build", "-o", bin.to_str().unwrap(), "."]));
    let port = free_port(); // nothing listens there
    let out = Command::new(&bin)
        .arg("world")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "500")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200 hello world\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("weft:") && err.contains("lost"), "the loss is reported: {err}");
}

#[test]
fn exit_code_and_flush_on_os_exit() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("hello");
    run_ok(&mut weft_go(&go_dir("hello"), &["build", "-o", bin.to_str().unwrap(), "."]));
    let rx = weft::receiver::Receiver::start("127.0.0.1:0").unwrap();
    let out = Command::new(&bin).args(["exit", "exit3"]).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    // Spans queued at os.Exit are flushed before the process goes.
    let spans = rx.spans();
    assert_eq!(spans.len(), 2, "server and client span: {spans:?}");
    assert_eq!(spans.iter().filter(|s| s.name == "GET /hello/{name}").count(), 1);
}

/// A program ended by a signal it leaves to the default action (the usual
/// end of a server in a container) never runs Go's exit hooks: weft
/// flushes, then the program dies by the signal as it would have. A
/// program that handles the signal decides: it shuts down as without weft.
#[test]
fn queued_spans_survive_the_signal_that_ends_a_program() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let hello = tmp.path().join("hello");
    run_ok(&mut weft_go(&go_dir("hello"), &["build", "-o", hello.to_str().unwrap(), "."]));
    let signals = tmp.path().join("signals");
    run_ok(&mut weft_go(&go_dir("signals"), &["build", "-o", signals.to_str().unwrap(), "."]));
    let cases = [
        // no package imports os/signal: weft's channel is the only one
        (&hello, &["v", "wait"][..], libc::SIGTERM),
        (&hello, &["v", "wait"][..], libc::SIGINT),
        // os/signal imported, no channel of the program's: counted
        (&signals, &["die"][..], libc::SIGTERM),
        // the program's own channel: it returns from main
        (&signals, &["graceful"][..], libc::SIGTERM),
        // the program stops watching as soon as the signal comes (a race
        // with weft's reading of its own channel, so tried a few times)
        (&signals, &["quick"][..], libc::SIGTERM),
        (&signals, &["quick"][..], libc::SIGTERM),
        (&signals, &["quick"][..], libc::SIGTERM),
        (&signals, &["quick"][..], libc::SIGTERM),
        (&signals, &["quick"][..], libc::SIGTERM),
        (&signals, &["quick"][..], libc::SIGTERM),
    ];
    for (bin, args, sig) in cases {
        let what = format!("{} {args:?} {sig}", bin.display());
        let rx = weft::receiver::Receiver::start("127.0.0.1:0").unwrap();
        let mut cmd = Command::new(bin);
        cmd.args(args).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()).stdout(std::process::Stdio::piped());
        // The default action, whatever this test inherited (a background
        // job's shell ignores SIGINT; nohup, SIGHUP).
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                libc::signal(sig, libc::SIG_DFL);
                Ok(())
            })
        };
        let mut child = cmd.spawn().unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert!(first.starts_with("200 hello"), "{what}: {first}");
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
        let status = child.wait().unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        if args[0] == "graceful" || args[0] == "quick" {
            assert_eq!((status.code(), rest.as_str()), (Some(0), "graceful\n"), "{what}");
        } else {
            assert_eq!(status.signal(), Some(sig), "{what}: dies by the signal, as without weft");
        }
        let spans = rx.spans();
        let server = spans.iter().find(|s| s.kind == SpanKind::Server).unwrap_or_else(|| panic!("{what}: {spans:?}"));
        assert!(spans.iter().any(|s| s.kind == SpanKind::Client && s.span_id == server.parent_span_id), "{what}: {spans:?}");
    }
}

/// A c-shared or c-archive library's process ends in C, where Go's exit
/// hooks never run: the spans still queued when C's main returns are
/// flushed by the atexit(3) hook go mode adds to such builds.
#[test]
fn c_libraries_flush_when_the_c_program_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = go_dir("clib");
    for (mode, lib) in [("c-shared", "libclib.so"), ("c-archive", "libclib.a")] {
        let lib = tmp.path().join(lib);
        run_ok(&mut weft_go(&dir, &["build", &format!("-buildmode={mode}"), "-o", lib.to_str().unwrap(), "."]));
        let bin = tmp.path().join(format!("main-{mode}"));
        let mut cc = Command::new("cc");
        cc.arg("-o").arg(&bin).arg(dir.join("c/main.c")).arg("-I").arg(tmp.path()).arg(&lib).arg("-pthread");
        if mode == "c-shared" {
            cc.arg(format!("-Wl,-rpath,{}", tmp.path().display()));
        }
        run_ok(&mut cc);
        let rx = weft::receiver::Receiver::start("127.0.0.1:0").unwrap();
        let out = run_ok(Command::new(&bin).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "status 200\n", "{mode}");
        // The receiver has what was sent once the process is gone.
        let spans = rx.spans();
        let client = spans.iter().find(|s| s.kind == SpanKind::Client).unwrap_or_else(|| panic!("{mode}: {spans:?}"));
        let server = spans.iter().find(|s| s.kind == SpanKind::Server).unwrap_or_else(|| panic!("{mode}: {spans:?}"));
        assert_eq!(server.parent_span_id, client.span_id, "{mode}");
    }
}

/// A Go plugin must link exactly the packages of the program that loads
/// it. Built with weft, both weave the same ones: those the rules target
/// and weft's runtime links (os/signal, which the host imports and the
/// plugin does not), and the runtime even in a plugin that uses nothing
/// weft instruments. The plugin's calls join the host's traces.
#[test]
fn plugins_built_with_weft_load_in_a_program_built_with_weft() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = go_dir("plugins");
    let out = |name: &str| tmp.path().join(name).to_string_lossy().into_owned();
    run_ok(&mut weft_go(&dir, &["build", "-o", &out("host"), "."]));
    for p in ["fetch", "plain"] {
        run_ok(&mut weft_go(&dir, &["build", "-buildmode=plugin", "-o", &out(&format!("{p}.so")), &format!("./{p}")]));
    }
    let rx = weft::receiver::Receiver::start("127.0.0.1:0").unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let run = run_ok(
        Command::new(out("host")).args([&addr, &out("fetch.so"), &out("plain.so")]).env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()),
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout), "fetched pong\nplain 127\n");
    // The plugin's client span, and the host's server span under it.
    let spans = rx.spans();
    let client = spans.iter().find(|s| s.kind == SpanKind::Client).unwrap_or_else(|| panic!("{spans:?}"));
    let server = spans.iter().find(|s| s.kind == SpanKind::Server).unwrap_or_else(|| panic!("{spans:?}"));
    assert_eq!(server.parent_span_id, client.span_id);
}

#[test]
fn a_panicking_handler_still_panics_with_the_users_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("hello");
    run_ok(&mut weft_go(&go_dir("hello"), &["build", "-o", bin.to_str().unwrap(), "."]));
    let rx = weft::receiver::Receiver::start("127.0.0.1:0").unwrap();
    let out = Command::new(&bin).arg("panic").env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // net/http recovered the user's panic (weft's hooks did not swallow it)
    // and its stack names the user's file and line, and net/http's own.
    assert!(err.contains("http: panic serving") && err.contains("hello panics"), "{err}");
    assert!(err.contains("tests/go/hello/main.go:22"), "{err}");
    assert!(err.contains("net/http/server.go:"), "{err}");
    assert!(!err.contains("weft/server.go"), "woven files keep their original names: {err}");
    // The server span still ended.
    let spans = rx.wait_for(|s| s.iter().any(|x| x.name == "GET /hello/{name}"), std::time::Duration::from_secs(10));
    assert!(spans.iter().any(|x| x.name == "GET /hello/{name}"));
}

#[test]
fn a_rule_whose_code_no_longer_compiles_costs_the_package_not_the_build() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("lockme");
    let out = run_ok(
        weft_go(&go_dir("lockme"), &["build", "-o", bin.to_str().unwrap(), "."])
            .env("WEFT_RULES", repo().join("tests/rules/nocompile")),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("undefined: renamedInThisRelease"), "the compiler's own error is shown: {err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("weft:")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].contains("example.com/lockme/greet") && warnings[0].contains("without instrumentation"), "{err}");
    let run = run_ok(Command::new(&bin).arg("world"));
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello world\n", "uninstrumented, unchanged");
    // The manifest was planned before the compile failed: inspect checks
    // the binary and does not call the package woven.
    assert!(inspect_line(&bin, "example.com/lockme/greet").starts_with("not in:"));
    assert!(inspect_line(&bin, "net/http").starts_with("woven:"));
}

/// The line `weft inspect BIN` prints for package `pkg`.
fn inspect_line(bin: &Path, pkg: &str) -> String {
    let out = run_ok(Command::new(weft()).arg("inspect").arg(bin));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.split_whitespace().any(|w| w == pkg));
    line.unwrap_or_else(|| panic!("{pkg} not listed: {text}")).to_string()
}

#[test]
fn a_rule_whose_signature_changed_is_skipped_with_one_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("lockme");
    let out = run_ok(
        weft_go(&go_dir("lockme"), &["build", "-o", bin.to_str().unwrap(), "."])
            .env("WEFT_RULES", repo().join("tests/rules/mismatch")),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("weft:")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("test.mismatch") && warnings[0].contains("Hello") && warnings[0].contains("func(string) string"),
        "{err}"
    );
    let run = run_ok(Command::new(&bin).arg("world"));
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello world\n", "uninstrumented, unchanged");
    assert!(inspect_line(&bin, "example.com/lockme/greet").starts_with("not in:"));
}

#[test]
fn concurrent_weft_runs_share_one_sdk_safely() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let children: Vec<_> = (0..3)
        .map(|i| {
            let out = tmp.path().join(format!("plain{i}"));
            weft_go(&go_dir("plain"), &["build", "-o", out.to_str().unwrap(), "."])
                .env("WEFT_CACHE", &cache)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let sdks: Vec<_> = std::fs::read_dir(cache.join("sdk")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(sdks.len(), 1, "one SDK, no temp dirs left: {sdks:?}");
    for i in 0..3 {
        assert_eq!(sha256(&tmp.path().join(format!("plain{i}"))), sha256(&tmp.path().join("plain0")));
    }
}
