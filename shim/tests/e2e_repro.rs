//! Reproducible, hash-pinned weaving: bit-identical builds from different
//! places, build-cache behaviour, weft.lock drift, the manifest, vendoring.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

/// Copies a directory tree (the fixture or example), so each build sees
/// its sources at a different absolute path.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// The packages a `go build -x` compiled (from its `-p` flags).
fn compiled(stderr: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(stderr);
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| l.contains("/compile ") && l.contains(" -p "))
        .filter_map(|l| l.split(" -p ").nth(1)?.split(' ').next().map(String::from))
        .collect();
    out.sort();
    out
}

#[test]
fn builds_are_bit_identical_across_dirs_homes_caches() {
    let mut sums = Vec::new();
    for run in 0..2 {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join(format!("src-{run}"));
        copy_tree(&repo().join("examples"), &src);
        let home = tmp.path().join("home");
        let tmpdir = tmp.path().join("tmp");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&tmpdir).unwrap();
        let out = tmp.path().join("frontend");
        let gomodcache = Command::new("go").args(["env", "GOMODCACHE"]).output().unwrap().stdout;
        let mut cmd = weft_go(&src, &["build", "-trimpath", "-o", out.to_str().unwrap(), "./shop/frontend"]);
        cmd.env("HOME", &home)
            .env("TMPDIR", &tmpdir)
            .env("GOCACHE", tmp.path().join("gocache"))
            .env("GOMODCACHE", String::from_utf8_lossy(&gomodcache).trim())
            .env("WEFT_CACHE", tmp.path().join("weftcache"));
        run_ok(&mut cmd);
        assert_eq!(Command::new(weft()).arg("inspect").arg(&out).status().unwrap().code(), Some(0));
        sums.push(sha256(&out));
    }
    assert_eq!(sums[0], sums[1], "two builds from different places differ");
}

/// Prints the file and line of each caller inside a net/http handler (a
/// woven std package), then runtime.GOROOT().
const WHERE_GO: &str = r#"package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
)

func main() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; ; i++ {
			_, file, line, ok := runtime.Caller(i)
			if !ok {
				break
			}
			fmt.Printf("%s:%d\n", file, line)
		}
	})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	fmt.Println("GOROOT", runtime.GOROOT())
}
"#;

/// An ELF binary with its Go build ID `id` and its GNU build ID zeroed.
fn blank_build_ids(bytes: &[u8], id: &str) -> Vec<u8> {
    const GNU: &[u8] = b"\x04\0\0\0\x14\0\0\0\x03\0\0\0GNU\0";
    let mut out = bytes.to_vec();
    for at in 0..out.len() {
        if out[at..].starts_with(id.as_bytes()) {
            out[at..at + id.len()].fill(0);
        } else if out[at..].starts_with(GNU) && at + GNU.len() + 20 <= out.len() {
            out[at + GNU.len()..at + GNU.len() + 20].fill(0);
        }
    }
    out
}

/// Without -trimpath, a woven binary records the real GOROOT wherever plain
/// go does (file names of std and woven std code, runtime.GOROOT()), not the
/// wrapped SDK in weft's cache, so two caches give the same binary. On Go
/// 1.23+ the build ID's first part (the link's action ID) still differs: the
/// go command hashes its GOROOT, the SDK's path, into it.
#[test]
fn builds_without_trimpath_record_the_real_goroot() {
    for go in [None, Some("go1.22.10")] {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("app");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("go.mod"), "module example.com/where\n\ngo 1.22\n").unwrap();
        std::fs::write(src.join("main.go"), WHERE_GO).unwrap();
        let plain = |c: &mut Command| {
            c.current_dir(&src).env_remove("GOFLAGS");
            if let Some(go) = go {
                c.env("GOTOOLCHAIN", go);
            }
            String::from_utf8(run_ok(c).stdout).unwrap().trim().to_string()
        };
        let goroot = plain(Command::new("go").args(["env", "GOROOT"]));
        let plain_bin = tmp.path().join("plain");
        plain(Command::new("go").args(["build", "-o", plain_bin.to_str().unwrap(), "."]));
        let want = plain(&mut Command::new(&plain_bin));
        assert!(want.contains(&format!("{goroot}/src/net/http/server.go:")) && want.ends_with(&format!("GOROOT {goroot}")), "{want}");

        let mut bins = Vec::new();
        for cache in ["cache-a", "cache-b/deeper"] {
            let cache = tmp.path().join(cache);
            let bin = tmp.path().join(format!("woven{}", bins.len()));
            let mut c = weft_go(&src, &["build", "-o", bin.to_str().unwrap(), "."]);
            c.env("WEFT_CACHE", &cache);
            if let Some(go) = go {
                c.env("GOTOOLCHAIN", go);
            }
            run_ok(&mut c);
            assert!(woven(&bin).contains("net/http"), "{go:?}: net/http is woven");
            assert_eq!(plain(&mut Command::new(&bin)), want, "{go:?}: the woven program's paths");
            let bytes = std::fs::read(&bin).unwrap();
            let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
            assert!(!has(cache.to_str().unwrap()), "{go:?}: {} names weft's cache {}", bin.display(), cache.display());
            assert!(has(&format!("{goroot}/src/weft/rt/")), "{go:?}: weft's runtime is named under the real GOROOT");
            bins.push((bin, bytes));
        }
        // The same bytes, but for the link's action ID (the build ID's first
        // part) and the GNU build ID the linker derives from the build ID.
        let id = |bin: &Path| plain(Command::new("go").args(["tool", "buildid"]).arg(bin));
        let (id0, id1) = (id(&bins[0].0), id(&bins[1].0));
        assert_eq!(id0.split_once('/').map(|p| p.1), id1.split_once('/').map(|p| p.1), "{go:?}");
        assert!(blank_build_ids(&bins[0].1, &id0) == blank_build_ids(&bins[1].1, &id1), "{go:?}: two weft caches give different binaries");
        if go == Some("go1.22.10") {
            // Go 1.22 hashes GOROOT_FINAL (the real root) instead.
            assert!(bins[0].1 == bins[1].1, "Go 1.22: two weft caches give different binaries");
        }
    }
}

#[test]
fn build_cache_rebuilds_exactly_what_a_rule_change_touches() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("lockme");
    copy_tree(&repo().join("tests/go/lockme"), &src);
    let rules = tmp.path().join("rules");
    copy_tree(&repo().join("tests/rules/greet"), &rules);
    let gocache = tmp.path().join("gocache");
    let bin = tmp.path().join("lockme.bin");
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "-x", "-o", bin.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(".");
        let mut c = weft_go(&src, &args);
        c.env("WEFT_RULES", &rules).env("GOCACHE", &gocache);
        let out = run_ok(&mut c);
        compiled(&out.stderr)
    };
    // A plain build first: the woven build must not reuse its entries.
    run_ok(Command::new("go").args(["build", "-o", "/dev/null", "."]).current_dir(&src).env("GOCACHE", &gocache));
    let first = build(&[]);
    for p in ["example.com/lockme/greet", "net/http", "main", "weft/rt"] {
        assert!(first.contains(&p.to_string()), "{p} not compiled in the first woven build: {first:?}");
    }
    let run = || String::from_utf8(run_ok(Command::new(&bin).arg("world")).stdout).unwrap();
    assert_eq!(run(), "hello WORLD!\n", "the user rule changed the argument and the result");
    // Warm: nothing recompiles.
    assert_eq!(build(&[]), Vec::<String>::new());
    // Change one rule: only its package and what depends on it rebuild.
    let hook = rules.join("hook.go");
    let text = std::fs::read_to_string(&hook).unwrap().replace("*result += \"!\"", "*result += \"?\"");
    std::fs::write(&hook, text).unwrap();
    assert_eq!(build(&[]), ["example.com/lockme/greet", "main"]);
    assert_eq!(run(), "hello WORLD?\n");
    // And a plain build after all this is still plain.
    let plain = tmp.path().join("plain");
    run_ok(Command::new("go").args(["build", "-o", plain.to_str().unwrap(), "."]).current_dir(&src).env("GOCACHE", &gocache));
    assert_eq!(String::from_utf8(run_ok(Command::new(&plain).arg("world")).stdout).unwrap(), "hello world\n");
}

fn lock_fixture(tmp: &Path) -> (PathBuf, PathBuf) {
    let src = tmp.join("lockme");
    copy_tree(&repo().join("tests/go/lockme"), &src);
    let rules = tmp.join("rules");
    copy_tree(&repo().join("tests/rules/greet"), &rules);
    let out = Command::new(weft()).arg("lock").current_dir(&src).env("WEFT_RULES", &rules).env("WEFT_CACHE", cache()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (src, rules)
}

fn locked_build(src: &Path, rules: &Path, how: &str) -> std::process::Output {
    let mut c = if how == "flag" {
        weft_go(src, &["build", "--locked", "-o", "/dev/null", "."])
    } else {
        let mut c = weft_go(src, &["build", "-o", "/dev/null", "."]);
        c.env("WEFT_LOCKED", "1");
        c
    };
    c.env("WEFT_RULES", rules).output().unwrap()
}

#[test]
fn lock_pins_and_locked_builds_fail_on_drift() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, rules) = lock_fixture(tmp.path());
    let lock: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(src.join("weft.lock")).unwrap()).unwrap();
    let greet = &lock["packages"]["example.com/lockme/greet"];
    assert!(greet["rules"]["test.greet"].is_string());
    assert!(greet["files"]["greet.go"]["output"].is_string());
    assert!(lock["packages"]["net/http"]["files"]["server.go"]["output"].is_string());
    assert!(locked_build(&src, &rules, "flag").status.success());
    assert!(locked_build(&src, &rules, "env").status.success());

    // One byte of a woven input changes.
    let f = src.join("greet/greet.go");
    std::fs::write(&f, std::fs::read_to_string(&f).unwrap().replace("hello ", "hallo ")).unwrap();
    for how in ["flag", "env"] {
        let out = locked_build(&src, &rules, how);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("example.com/lockme/greet: file greet.go: input sha256") && err.contains("(rules test.greet)"),
            "{err}"
        );
    }
    // Re-locking accepts it; then the rule changes.
    run_ok(Command::new(weft()).arg("lock").current_dir(&src).env("WEFT_RULES", &rules).env("WEFT_CACHE", cache()));
    let hook = rules.join("hook.go");
    std::fs::write(&hook, std::fs::read_to_string(&hook).unwrap().replace("\"!\"", "\"!!\"")).unwrap();
    let out = locked_build(&src, &rules, "flag");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("example.com/lockme/greet: rule test.greet: hash"), "{err}");
    assert!(err.contains("rule set:"), "{err}");
    assert!(err.contains("weft lock"), "says how to re-pin: {err}");
}

#[test]
fn inspect_reads_the_manifest_even_when_stripped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = repo().join("tests/go/hello");
    let woven = tmp.path().join("woven");
    run_ok(&mut weft_go(&dir, &["build", "-ldflags=-s -w", "-o", woven.to_str().unwrap(), "."]));
    let out = run_ok(Command::new(weft()).arg("inspect").arg(&woven));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("built with weft") && text.contains("net/http") && text.contains("nethttp.server"), "{text}");
    let plain = tmp.path().join("plain");
    run_ok(Command::new("go").args(["build", "-o", plain.to_str().unwrap(), "."]).current_dir(&dir));
    let out = Command::new(weft()).arg("inspect").arg(&plain).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not built with weft"));
}

/// `go run main.go` and friends name files, not a package: the link file
/// weft adds must be named in the same form, or the go command refuses
/// files from two directories ("." and the absolute one).
#[test]
fn file_list_builds_run_woven() {
    let go = repo().join("tests/go");
    for (dir, file) in [("hello", "main.go".to_string()), (".", "hello/main.go".into()), (".", "./hello/main.go".into())] {
        let rx = weft::receiver::Receiver::start("127.0.0.1:0").unwrap();
        let mut c = weft_go(&go.join(dir), &["run", &file, "v"]);
        c.env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint());
        let out = run_ok(&mut c);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200 hello v\n", "{file}");
        let spans = rx.spans();
        assert!(spans.iter().any(|s| s.name == "GET /hello/{name}"), "{file}: {spans:?}");
    }
}

/// A package path may end in ".go" (github.com/nats-io/nats.go): go
/// takes an argument for a file only when it is one, and so does weft.
#[test]
fn a_package_path_ending_in_dot_go_is_a_package() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("svc");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("go.mod"), "module example.com/svc.go\n\ngo 1.22\n").unwrap();
    std::fs::write(src.join("main.go"), "package main\n\nimport \"net/http\"\n\nfunc main() { _ = http.ListenAndServe }\n").unwrap();
    let bin = tmp.path().join("svc.bin");
    run_ok(&mut weft_go(&src, &["build", "-o", bin.to_str().unwrap(), "example.com/svc.go"]));
    let text = woven(&bin);
    assert!(text.lines().any(|l| l.starts_with("woven:") && l.contains("net/http")), "{text}");
}

#[test]
fn vendored_build_works_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("examples");
    copy_tree(&repo().join("examples"), &src);
    run_ok(Command::new("go").args(["mod", "vendor"]).current_dir(&src));
    let bin = tmp.path().join("frontend");
    let mut c = weft_go(&src, &["build", "-mod=vendor", "-o", bin.to_str().unwrap(), "./shop/frontend"]);
    c.env("GOPROXY", "off").env("GOFLAGS", "-mod=vendor");
    run_ok(&mut c);
    let out = run_ok(Command::new(weft()).arg("inspect").arg(&bin));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("database/sql") && text.contains("net/http"), "{text}");
}

/// A main package of another module that go.mod replaces by a directory
/// (a monorepo's) is woven like the main module's: only the module cache
/// is out of reach of the overlay.
#[test]
fn a_module_replaced_by_a_directory_is_woven() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, lib) = (tmp.path().join("app"), tmp.path().join("lib"));
    std::fs::create_dir_all(&app).unwrap();
    std::fs::create_dir_all(lib.join("cmd/server")).unwrap();
    std::fs::write(lib.join("go.mod"), "module example.com/lib\n\ngo 1.22\n").unwrap();
    std::fs::write(
        lib.join("cmd/server/main.go"),
        "package main\n\nimport \"net/http\"\n\nfunc main() { http.ListenAndServe(\"127.0.0.1:0\", nil) }\n",
    )
    .unwrap();
    std::fs::write(app.join("go.mod"), "module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v0.1.0\n\nreplace example.com/lib => ../lib\n").unwrap();
    let bin = tmp.path().join("server");
    let out = run_ok(&mut weft_go(&app, &["build", "-o", bin.to_str().unwrap(), "example.com/lib/cmd/server"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("weft:"), "{stderr}");
    let out = run_ok(Command::new(weft()).arg("inspect").arg(&bin));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nethttp.server"), "{text}");
}

/// A library built in its own module (its tests, a fork) has no version to
/// check a rule's range against: not woven, and weft says so.
#[test]
fn a_library_in_its_own_module_is_named_as_not_woven() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("go.mod"), "module github.com/gorilla/mux\n\ngo 1.22\n").unwrap();
    std::fs::write(tmp.path().join("mux.go"), "package mux\n\nimport \"net/http\"\n\ntype Router struct{ http.ServeMux }\n").unwrap();
    let out = run_ok(&mut weft_go(tmp.path(), &["build", "./..."]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("weft: not instrumented") && stderr.contains("github.com/gorilla/mux (rule gorillamux)"), "{stderr}");
}

/// Older Go releases, fetched as toolchains through the module proxy:
/// weft wraps the toolchain GOTOOLCHAIN selects, and the woven program
/// sends its spans.
#[test]
fn other_go_releases_weave_and_trace() {
    for go in ["go1.22.10", "go1.24.13"] {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("hello");
        let mut c = weft_go(&repo().join("tests/go/hello"), &["build", "-o", bin.to_str().unwrap(), "."]);
        c.env("GOTOOLCHAIN", go);
        run_ok(&mut c);
        let version = run_ok(Command::new("go").arg("version").arg(&bin)).stdout;
        assert!(String::from_utf8_lossy(&version).contains(&format!(": {go}")), "{}", String::from_utf8_lossy(&version));
        let rx = weft::receiver::Receiver::start("127.0.0.1:0").unwrap();
        let out = run_ok(Command::new(&bin).arg("v").env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200 hello v\n");
        let spans = rx.spans();
        let server = spans.iter().find(|s| s.name == "GET /hello/{name}").unwrap_or_else(|| panic!("{go}: {spans:?}"));
        let client = spans.iter().find(|s| s.name == "GET").unwrap();
        assert_eq!(server.parent_span_id, client.span_id, "{go}");
        assert_eq!(server.resource_str("process.runtime.version"), Some(go));
    }
}

/// Sets every file and directory below `dir` to one fixed old mtime (as a
/// checkout or a tool restoring mtimes can), then waits out the 2 s in which the
/// plan cache does not trust a change (touch moves the ctime to now).
fn age(dir: &Path) {
    run_ok(Command::new("find").arg(dir).args(["-exec", "touch", "-d", "2020-01-01 00:00:00", "{}", "+"]));
    std::thread::sleep(std::time::Duration::from_millis(2100));
}

/// What go mode said about its build plan (WEFT_DEBUG=1).
fn planned(dir: &Path, args: &[&str]) -> String {
    let mut c = weft_go(dir, args);
    c.env("WEFT_DEBUG", "1");
    let out = run_ok(&mut c);
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.starts_with("weft: build plan from")).unwrap_or_else(|| panic!("no plan line: {err}"));
    line.trim_start_matches("weft: build plan from ").to_string()
}

fn woven(bin: &Path) -> String {
    let out = Command::new(weft()).arg("inspect").arg(bin).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn plan_cache_serves_warm_builds_and_sees_import_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("app");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("go.mod"), "module example.com/app\n\ngo 1.22\n").unwrap();
    std::fs::write(src.join("sub/README"), "not a package yet\n").unwrap();
    let main_go = src.join("main.go");
    std::fs::write(&main_go, "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n").unwrap();
    age(&src);
    let bin = tmp.path().join("app.bin");
    let build = ["build", "-o", bin.to_str().unwrap(), "."];
    // Nothing to weave; the second build reuses the plan.
    assert_eq!(planned(&src, &build), "go list");
    assert!(woven(&bin).contains("not built with weft"));
    assert_eq!(planned(&src, &build), "the cache");

    // An import of database/sql, in a file edited and set back to its old
    // mtime (its size and ctime still change): woven.
    std::fs::write(&main_go, "package main\n\nimport (\n\t\"database/sql\"\n\t\"fmt\"\n)\n\nfunc main() { fmt.Println(sql.Drivers()) }\n").unwrap();
    age(&src);
    assert_eq!(planned(&src, &build), "go list");
    let text = woven(&bin);
    assert!(text.contains("database/sql") && !text.contains("net/http"), "{text}");
    assert_eq!(planned(&src, &build), "the cache");

    // A new file importing net/http.
    std::fs::write(src.join("serve.go"), "package main\n\nimport \"net/http\"\n\nvar _ = http.ListenAndServe\n").unwrap();
    age(&src);
    assert_eq!(planned(&src, &build), "go list");
    assert!(woven(&bin).contains("net/http"));

    // `./...`: a new package under a directory that held none.
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let all = ["build", "-o", out.to_str().unwrap(), "./..."];
    assert_eq!(planned(&src, &all), "go list");
    assert_eq!(planned(&src, &all), "the cache");
    std::fs::create_dir_all(src.join("sub/tool")).unwrap();
    std::fs::write(src.join("sub/tool/main.go"), "package main\n\nimport \"net/http\"\n\nfunc main() { http.Get(\"http://127.0.0.1:1\") }\n").unwrap();
    age(&src);
    assert_eq!(planned(&src, &all), "go list");
    assert!(woven(&out.join("tool")).contains("net/http"), "the new program is woven");

    // `go build -C dir` from elsewhere: listed in dir, and the marks (paths
    // from the go command's working directory) still weave.
    let c_bin = tmp.path().join("c.bin");
    let from_tmp = ["build", "-C", "app/sub/tool", "-o", c_bin.to_str().unwrap(), "."];
    assert_eq!(planned(tmp.path(), &from_tmp), "go list");
    assert_eq!(planned(tmp.path(), &from_tmp), "the cache");
    let nm = run_ok(Command::new("go").args(["tool", "nm"]).arg(&c_bin));
    assert!(String::from_utf8_lossy(&nm.stdout).contains("net/http.weftClient"), "net/http is woven");
    // `go -C dir build`: the same build, -C before the subcommand.
    let c2_bin = tmp.path().join("c2.bin");
    let c_first = ["-C", "app/sub/tool", "build", "-o", c2_bin.to_str().unwrap(), "."];
    assert_eq!(planned(tmp.path(), &c_first), "go list");
    let nm = run_ok(Command::new("go").args(["tool", "nm"]).arg(&c2_bin));
    assert!(String::from_utf8_lossy(&nm.stdout).contains("net/http.weftClient"), "-C first: net/http is woven");
}

#[test]
fn tool_ids_come_from_a_cache_that_follows_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let sdk = tmp.path().join("sdk");
    run_ok(Command::new(weft()).args(["sdk", "--out", sdk.to_str().unwrap()]).env("WEFT_CACHE", &cache));
    let tools = std::fs::read_dir(sdk.join("pkg/tool")).unwrap().next().unwrap().unwrap().path();
    let real_dir = String::from_utf8(Command::new("go").args(["env", "GOTOOLDIR"]).output().unwrap().stdout).unwrap();
    let entries = || std::fs::read_dir(cache.join("toolid")).map_or(0, |d| d.count());
    let version = |dir: &Path, tool: &str, exp: &str| {
        let out = run_ok(Command::new(dir.join(tool)).arg("-V=full").env("WEFT_CACHE", &cache).env("GOEXPERIMENT", exp));
        String::from_utf8(out.stdout).unwrap()
    };
    for (i, tool) in ["compile", "asm", "cgo", "link"].iter().enumerate() {
        let real = version(Path::new(real_dir.trim()), tool, "");
        assert!(real.starts_with(&format!("{tool} version ")), "{real}");
        assert_eq!(version(&tools, tool, ""), real, "{tool}: first answer");
        assert_eq!(entries(), i + 1, "{tool}: one cache entry per tool");
        assert_eq!(version(&tools, tool, ""), real, "{tool}: answer from the cache");
        assert_eq!(entries(), i + 1);
    }
    // GOEXPERIMENT changes the answer, so it is part of the key.
    let real = version(Path::new(real_dir.trim()), "link", "fieldtrack");
    assert!(real.contains("X:fieldtrack"), "{real}");
    assert_eq!(version(&tools, "link", "fieldtrack"), real);
    assert_eq!(entries(), 5);
    // Anything but -V=full is the real tool's.
    let out = Command::new(tools.join("link")).env("WEFT_CACHE", &cache).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: link"), "{}", String::from_utf8_lossy(&out.stderr));
}
