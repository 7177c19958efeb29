//! Shared pieces of the end-to-end tests: the real weft binary, real Go
//! builds, real processes, and MariaDB started by tests/services.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn weft() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_weft"))
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// One weft cache (wrapped SDKs) for all tests: building one is slow.
pub fn cache() -> PathBuf {
    repo().join("target").join("e2e-cache")
}

/// A `weft go ...` command in `dir`, with the test cache.
pub fn weft_go(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(weft());
    c.arg("go").args(args).current_dir(dir).env("WEFT_CACHE", cache());
    for k in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "WEFT_RULES", "GOFLAGS"] {
        c.env_remove(k);
    }
    c
}

/// `weft go build [-modfile=M] -o out .` in `dir` (its go.mod when
/// `modfile` is None).
pub fn weft_build(dir: &Path, out: &Path, modfile: Option<&str>) -> Command {
    let flag = modfile.map(|m| format!("-modfile={m}"));
    let mut args = vec!["build"];
    args.extend(flag.as_deref());
    args.extend(["-o", out.to_str().unwrap(), "."]);
    weft_go(dir, &args)
}

/// Runs a weft build and insists that it succeeds without a `weft:` line.
pub fn build_clean(cmd: &mut Command) -> Output {
    let out = run_ok(cmd);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!said.contains("weft:"), "the build warned:\n{said}");
    out
}

/// Points a woven program's spans at `endpoint` (a test receiver's), as
/// service `service`, exported every 100 ms.
pub fn export_to<'a>(cmd: &'a mut Command, service: &str, endpoint: &str) -> &'a mut Command {
    cmd.env("OTEL_SERVICE_NAME", service)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
}

/// GETs each path on `addr` in turn, insisting on 200; the bodies by path.
pub fn get_all<'p>(proc: &Proc, addr: &str, paths: &[&'p str]) -> std::collections::HashMap<&'p str, String> {
    let mut bodies = std::collections::HashMap::new();
    for p in paths {
        let (status, body) = get(&format!("http://{addr}{p}"), &[]);
        assert_eq!(status, 200, "{p}: {body}\n{}", proc.output());
        bodies.insert(*p, body);
    }
    bodies
}

/// The server span of the request for `path` (`dump` shows the traces if
/// there is none).
pub fn server_span<'a>(spans: &'a [weft::receiver::SpanRecord], path: &str, dump: &str) -> &'a weft::receiver::SpanRecord {
    spans
        .iter()
        .find(|s| s.kind == weft::receiver::SpanKind::Server && s.attr_str("url.path") == Some(path))
        .unwrap_or_else(|| panic!("no server span for {path}:\n{dump}"))
}

/// Runs a command and insists it succeeds, showing its output if not.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The MariaDB DSN from tests/services/mariadb.sh (`MYSQL_DSN`).
pub fn mysql_dsn() -> String {
    std::env::var("MYSQL_DSN").unwrap_or_else(|_| {
        panic!("MYSQL_DSN is not set: start MariaDB with `eval \"$(tests/services/mariadb.sh start && tests/services/mariadb.sh env)\"` or run tests/run.sh")
    })
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed on drop, its stderr kept in a file for messages.
pub struct Proc {
    pub child: Child,
    pub name: String,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command, log_dir: &Path) -> Proc {
        let log = log_dir.join(format!("{name}.log"));
        let f = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdout(Stdio::from(f.try_clone().unwrap()))
            .stderr(Stdio::from(f))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc { child, name: name.into(), log }
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `addr` accepts connections (the process must stay up).
    pub fn wait_port(&mut self, addr: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(addr).is_err() {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("{} exited ({st}) before listening on {addr}:\n{}", self.name, self.output());
            }
            assert!(Instant::now() < deadline, "{} never listened on {addr}:\n{}", self.name, self.output());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends a signal and waits for the exit status.
    pub fn stop(&mut self, sig: i32) -> std::process::ExitStatus {
        unsafe { libc_kill(self.child.id() as i32, sig) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "{} did not stop:\n{}", self.name, self.output());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

/// `prefix` and the time in nanoseconds: a name (topic, subject) of this
/// run's own on a server that other runs share and that outlives them.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}{nanos}")
}

/// GET a URL; returns (status, body).
pub fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut req = agent.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

pub fn sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Lines of a file, for log assertions.
pub fn lines(path: &Path) -> Vec<String> {
    BufReader::new(std::fs::File::open(path).unwrap()).lines().map(|l| l.unwrap()).collect()
}
