//! OTLP/gRPC export end to end: a woven program (tests/go/hello) exports
//! with OTEL_EXPORTER_OTLP_PROTOCOL=grpc to a real gRPC collector
//! (tests/go/otlpgrpc: grpc-go serving the official OTLP definitions,
//! built with plain go), uncompressed and gzip-compressed, with metadata
//! from OTEL_EXPORTER_OTLP_HEADERS; with no collector the program still
//! exits at once and counts what it lost.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn spans_reach_a_grpc_collector() {
    let tmp = tempfile::tempdir().unwrap();
    let recv = tmp.path().join("otlpgrpc");
    run_ok(Command::new("go").args(["build", "-o", recv.to_str().unwrap(), "."]).current_dir(repo().join("tests/go/otlpgrpc")).env_remove("GOFLAGS"));
    let addr = format!("127.0.0.1:{}", free_port());
    let mut collector = Proc::spawn("otlpgrpc", Command::new(&recv).arg(&addr), tmp.path());
    collector.wait_port(&addr);
    let bin = tmp.path().join("hello");
    build_clean(&mut weft_build(&repo().join("tests/go/hello"), &bin, None));

    let endpoint = format!("http://{addr}");
    for compression in ["none", "gzip"] {
        let out = run_ok(
            Command::new(&bin)
                .arg("v")
                .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
                .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
                .env("OTEL_EXPORTER_OTLP_COMPRESSION", compression)
                .env("OTEL_EXPORTER_OTLP_HEADERS", format!("api-key=key-{compression}"))
                .env("OTEL_SERVICE_NAME", format!("hello-{compression}")),
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200 hello v\n");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{compression}");
    }
    // The collector prints "span SERVICE KIND NAME TRACE SPAN PARENT".
    let deadline = Instant::now() + Duration::from_secs(20);
    let spans = loop {
        let got: Vec<Vec<String>> = collector
            .output()
            .lines()
            .filter(|l| l.starts_with("span "))
            .map(|l| l.split(' ').map(String::from).collect())
            .collect();
        if got.len() >= 4 || Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = collector.output();
    assert_eq!(spans.len(), 4, "{log}");
    for compression in ["none", "gzip"] {
        let service = format!("hello-{compression}");
        let find = |kind: &str| {
            spans.iter().find(|s| s[1] == service && s[2] == kind).unwrap_or_else(|| panic!("no {kind} span of {service}:\n{log}"))
        };
        let (client, server) = (find("SPAN_KIND_CLIENT"), find("SPAN_KIND_SERVER"));
        assert_eq!((client[3].as_str(), client[6].as_str()), ("GET", "-"), "{log}");
        assert_eq!(server[3], "GET_/hello/{name}", "{log}");
        assert_eq!((&server[4], &server[6]), (&client[4], &client[5]), "the server span is the client span's child:\n{log}");
        assert!(log.contains(&format!("call api-key=key-{compression}\n")), "{log}");
    }

    // No collector: the program is not held up, and says what it lost.
    let out = run_ok(
        Command::new(&bin)
            .arg("v")
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{}", free_port())),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200 hello v\n");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("2 spans lost") && said.contains("connection refused"), "{said}");
}
