//! The loader's CPU per span without the kernel: parses hand-made records
//! of one hello-world request (server entry and return, the per-request
//! goroutine), builds the span and encodes it to OTLP in batches of 512,
//! as `weft run --ebpf` does, and prints the time per span.
//!
//!   cargo run --release -p weft-bpf --example span_cost [-- N]
use std::time::Instant;

use weft_bpf::events::raw::*;
use weft_bpf::events::{test_record, Event};
use weft_bpf::spans::Engine;

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let raw = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8090\r\n\r\n";
    let start = test_record(weft_kind_WEFT_HTTP_SERVER_START, 7, 0, [1, 1, 0, 0], &[b"GET", b"/hello", b"", b"127.0.0.1:8090", b"127.0.0.1:50312"], raw);
    let end = test_record(weft_kind_WEFT_HTTP_SERVER_END, 7, 0, [200, 1, 0, 0], &[b"GET /hello"], b"");
    let go = test_record(weft_kind_WEFT_GO_START, 7, 0, [7, 9, 0xc000123456, 0], &[], b"");
    let resource = weft_bpf::export::Config::from_env(std::path::Path::new("hello"), 1, "go1.26").resource;
    let mut ids = 0u128;
    let mut en = Engine::new(0, "mysql", Box::new(|_| None), Box::new(move || {
        ids += 1;
        ids
    }));
    let (mut batch, mut body, mut bytes) = (Vec::new(), Vec::new(), 0usize);
    let t = Instant::now();
    for i in 0..n {
        for r in [&go, &start, &end] {
            let mut e = Event::parse(r).unwrap();
            e.ktime_ns = i * 1000;
            en.handle(&e);
        }
        batch.extend(en.take());
        if batch.len() >= 512 && std::env::var_os("NO_ENCODE").is_some() {
            batch.clear();
        } else if batch.len() >= 512 {
            body.clear();
            weft_bpf::otlp::encode_request(&resource, &batch, &mut body);
            batch.clear();
            bytes += body.len();
        }
    }
    let el = t.elapsed();
    println!("{n} spans: {:.0} ns per span ({} bytes of OTLP)", el.as_nanos() as f64 / n as f64, bytes);
}
