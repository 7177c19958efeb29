//! HTTP/1 header blocks as the probes copy them from the connection's
//! bufio.Reader, and W3C trace context.
//!
//! The probe copies `buf[0:r]`: normally exactly the request line and
//! headers of the request being served, but with pipelining earlier
//! requests may precede it, and a block longer than the copy is cut. So
//! the last request line in the block is taken, and it must agree with the
//! method and path read from the `*http.Request`, or the block is ignored.
//! HTTP/2 requests have no block; the probe writes their trace headers as
//! bare lines instead ([`header_lines`]).

/// One header: name (as sent) and value, borrowed from the copied block.
pub type Header<'a> = (&'a str, &'a str);

/// The headers of the request whose line matches `method` and `path`.
/// Nothing is copied; a line that is not UTF-8 is skipped.
pub fn request_headers<'a>(raw: &'a [u8], method: &str, path: &str) -> Option<Vec<Header<'a>>> {
    request_header_iter(raw, method, path).map(Iterator::collect)
}

/// [`request_headers`], one at a time.
pub fn request_header_iter<'a>(raw: &'a [u8], method: &str, path: &str) -> Option<impl Iterator<Item = Header<'a>>> {
    let body = raw.strip_suffix(b"\r\n\r\n").or_else(|| raw.strip_suffix(b"\n\n")).unwrap_or(raw);
    let start = body.windows(4).rposition(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(0);
    let mut lines = body[start..].split(|&b| b == b'\n');
    let line = std::str::from_utf8(lines.next()?).ok()?.trim_end_matches('\r');
    let mut parts = line.split(' ');
    let (m, target) = (parts.next()?, parts.next()?);
    if m != method || !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let target_path = target.split('?').next().unwrap_or("");
    // The path may be absolute-form (proxies) or escaped; its tail must match.
    if !target_path.ends_with(path) && !path.is_empty() && percent_decode(target_path) != path {
        return None;
    }
    Some(lines.filter_map(header_of))
}

/// "Name: value\r" as (name, value), trimmed.
fn header_of(line: &[u8]) -> Option<Header<'_>> {
    let (k, v) = std::str::from_utf8(line).ok()?.split_once(':')?;
    Some((k.trim(), v.trim()))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(Ok(v)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Header lines with no request line: what the HTTP/2 probe writes
/// ("\r\ntraceparent: V\r\ntracestate: V\r\n").
pub fn header_lines(raw: &[u8]) -> impl Iterator<Item = Header<'_>> {
    raw.split(|&b| b == b'\n').filter_map(header_of)
}

/// The first value of each header the server span uses (any case).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Wanted<'a> {
    pub traceparent: Option<&'a str>,
    pub tracestate: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub forwarded_for: Option<&'a str>,
}

impl<'a> Wanted<'a> {
    pub fn from_headers(h: impl Iterator<Item = Header<'a>>) -> Wanted<'a> {
        let mut w = Wanted::default();
        for (k, v) in h {
            let slot = match k.len() {
                11 if k.eq_ignore_ascii_case("traceparent") => &mut w.traceparent,
                10 if k.eq_ignore_ascii_case("tracestate") => &mut w.tracestate,
                10 if k.eq_ignore_ascii_case("user-agent") => &mut w.user_agent,
                15 if k.eq_ignore_ascii_case("x-forwarded-for") => &mut w.forwarded_for,
                _ => continue,
            };
            slot.get_or_insert(v);
        }
        w
    }
}

/// The first value of header `name` (any case).
pub fn header<'a>(h: &[Header<'a>], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
}

/// A W3C `traceparent`: (trace id, parent span id, flags), or `None` when invalid.
pub fn parse_traceparent(v: &str) -> Option<([u8; 16], [u8; 8], u8)> {
    let v = v.trim();
    let p: Vec<&str> = v.split('-').collect();
    if p.len() < 4 || p[0].len() != 2 || p[1].len() != 32 || p[2].len() != 16 || p[3].len() != 2 {
        return None;
    }
    if p[0] == "ff" || (p[0] == "00" && p.len() != 4) {
        return None;
    }
    let lower_hex = |s: &str| s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    if !p[..4].iter().all(|s| lower_hex(s)) {
        return None;
    }
    let mut tid = [0u8; 16];
    let mut sid = [0u8; 8];
    hex::decode_to_slice(p[1], &mut tid).ok()?;
    hex::decode_to_slice(p[2], &mut sid).ok()?;
    if tid == [0; 16] || sid == [0; 8] {
        return None;
    }
    Some((tid, sid, u8::from_str_radix(p[3], 16).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_matching_request() {
        let raw = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /items/1?x=1 HTTP/1.1\r\nHost: y\r\nTraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nUser-Agent: curl\r\n\r\n";
        let h = request_headers(raw, "GET", "/items/1").unwrap();
        assert_eq!(header(&h, "host"), Some("y"));
        assert_eq!(header(&h, "user-agent"), Some("curl"));
        let (t, s, f) = parse_traceparent(header(&h, "traceparent").unwrap()).unwrap();
        assert_eq!(hex::encode(t), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(hex::encode(s), "b7ad6b7169203331");
        assert_eq!(f, 1);
        assert!(request_headers(raw, "POST", "/items/1").is_none());
        assert!(request_headers(b"\x00\x01garbage", "GET", "/").is_none());
        assert!(request_headers(b"GET /caf%C3%A9 HTTP/1.1\r\n\r\n", "GET", "/café").is_some());
        let w = Wanted::from_headers(request_header_iter(raw, "GET", "/items/1").unwrap());
        assert_eq!(w.traceparent, Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
        assert_eq!((w.user_agent, w.tracestate, w.forwarded_for), (Some("curl"), None, None));
        let w = Wanted::from_headers(header_lines(b"\r\nTraceState: a=1\r\ntracestate: b=2\r\nX-Forwarded-For: 1.2.3.4\r\n"));
        assert_eq!((w.tracestate, w.forwarded_for, w.traceparent), (Some("a=1"), Some("1.2.3.4"), None));
    }

    #[test]
    fn rejects_bad_traceparents() {
        for v in [
            "",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        ] {
            assert!(parse_traceparent(v).is_none(), "{v}");
        }
        assert!(parse_traceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future").is_some());
    }
}
