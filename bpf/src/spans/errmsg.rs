//! Error messages from the probes' error snapshots (`src/bpf/errors.bpf.h`):
//! what `err.Error()` returns, rebuilt for the types whose layout is known
//! (the messages the compile-time rules record as the status message).
//! Other types keep only their `error.type`.

use crate::events::Event;

/// Longest message kept.
const MAX: usize = 512;

/// Go's `%T` of an itab's type ("*github.com/go-sql-driver/mysql.MySQLError"
/// -> "*mysql.MySQLError": package name, not path).
pub fn type_string(itab_type: &str) -> String {
    let (head, generic) = match itab_type.find('[') {
        Some(i) => itab_type.split_at(i),
        None => (itab_type, ""),
    };
    let stars = head.len() - head.trim_start_matches('*').len();
    let bare = &head[stars..];
    // The package name is the last path element, or the one before a
    // major-version suffix ("math/rand/v2.T" -> "rand.T").
    let (path, ty) = bare.rsplit_once('/').unwrap_or(("", bare));
    let short = match ty.split_once('.') {
        Some((v, rest)) if v.len() > 1 && v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit()) && !path.is_empty() => {
            format!("{}.{rest}", path.rsplit('/').next().unwrap_or(path))
        }
        _ => ty.to_string(),
    };
    format!("{}{short}{generic}", &head[..stars])
}

fn u64_at(raw: &[u8], off: usize) -> u64 {
    raw.get(off..off + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap())).unwrap_or(0)
}

/// String `i` of the snapshot, if it arrived whole.
fn s(e: &Event, i: usize) -> Option<String> {
    let v = e.strs.get(i)?;
    (!v.is_empty()).then(|| String::from_utf8_lossy(v).into_owned())
}

/// The message of the error snapshot in `e` whose type is `t` (as
/// [`type_string`] gives it); `name` names other itabs the same way.
pub fn message(t: &str, e: &Event, name: &dyn Fn(u64) -> Option<String>) -> Option<String> {
    let raw = e.raw;
    let m = match t {
        "*errors.errorString" | "*fmt.wrapError" | "*fmt.wrapErrors" | "*http.httpError" => s(e, 0)?,
        "context.deadlineExceededError" => "context deadline exceeded".into(),
        "*poll.DeadlineExceededError" => "i/o timeout".into(),
        "*mysql.MySQLError" => {
            let num = mysql_number(raw)?;
            let state = raw.get(2..7)?;
            let msg = s(e, 1).unwrap_or_default();
            if state == [0; 5] {
                format!("Error {num}: {msg}")
            } else {
                format!("Error {num} ({}): {msg}", String::from_utf8_lossy(state))
            }
        }
        "*net.OpError" => op_error(e, name)?,
        _ => return None,
    };
    let mut m = m;
    if m.len() > MAX {
        let mut cut = MAX;
        while !m.is_char_boundary(cut) {
            cut -= 1;
        }
        m.truncate(cut);
    }
    Some(m)
}

/// The database's own code for an error of type `t`, where the snapshot
/// holds it: MySQL's error number (`1146`), as the compile-time database/sql
/// rule reads it. error.type and db.response.status_code are then the code.
pub fn db_code(t: &str, e: &Event) -> Option<String> {
    match t {
        "*mysql.MySQLError" => mysql_number(e.raw).filter(|&n| n != 0).map(|n| n.to_string()),
        _ => None,
    }
}

/// mysql.MySQLError.Number, the struct's first field.
fn mysql_number(raw: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes([*raw.first()?, *raw.get(1)?]))
}

/// net.OpError.Error(): "dial tcp 127.0.0.1:1: connect: connection refused".
fn op_error(e: &Event, name: &dyn Fn(u64) -> Option<String>) -> Option<String> {
    let raw = e.raw;
    let mut out = s(e, 0)?;
    if let Some(n) = s(e, 2) {
        out.push(' ');
        out.push_str(&n);
    }
    if u64_at(raw, 32) != 0 {
        return None; // a Source address: not in the snapshot
    }
    if u64_at(raw, 48) != 0 {
        if name(u64_at(raw, 48)).as_deref() != Some("*net.TCPAddr") || u64_at(raw, 160) != 0 {
            return None; // another address type, or a zone
        }
        out.push(' ');
        out.push_str(&tcp_addr(raw)?);
    }
    let inner = match name(u64_at(raw, 64))?.as_str() {
        "*os.SyscallError" => {
            let errno_type = name(u64_at(raw, 96))?;
            if errno_type != "syscall.Errno" {
                return None;
            }
            format!("{}: {}", s(e, 3)?, errno_text(u64_at(raw, 112) as i32)?)
        }
        "*errors.errorString" => s(e, 3)?,
        "*poll.DeadlineExceededError" => "i/o timeout".into(),
        _ => return None,
    };
    out.push_str(": ");
    out.push_str(&inner);
    Some(out)
}

/// net.TCPAddr.String() from the snapshot (IP slice at 120, port at 144, IP bytes at 168).
fn tcp_addr(raw: &[u8]) -> Option<String> {
    let port = u64_at(raw, 144) as i64;
    let ip = match u64_at(raw, 128) {
        0 => String::new(),
        4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(raw.get(168..172)?).ok()?).to_string(),
        16 => {
            let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(raw.get(168..184)?).ok()?);
            match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => format!("[{v6}]"),
            }
        }
        _ => return None,
    };
    Some(format!("{ip}:{port}"))
}

/// syscall.Errno.Error() on Linux: the C library's text, lower-cased first
/// letter as in Go's table ("connection refused").
fn errno_text(n: i32) -> Option<String> {
    if n <= 0 {
        return None;
    }
    // SAFETY: strerror returns a valid C string for any value.
    let c = unsafe { std::ffi::CStr::from_ptr(libc::strerror(n)) }.to_string_lossy().into_owned();
    if c.starts_with("Unknown error") {
        return None;
    }
    let mut ch = c.chars();
    Some(ch.next().map(|f| f.to_lowercase().collect::<String>() + ch.as_str()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_strings_are_go_percent_t() {
        assert_eq!(type_string("*github.com/go-sql-driver/mysql.MySQLError"), "*mysql.MySQLError");
        assert_eq!(type_string("*net.OpError"), "*net.OpError");
        assert_eq!(type_string("context.deadlineExceededError"), "context.deadlineExceededError");
        assert_eq!(type_string("*example.com/a/b.T[example.com/c.U]"), "*b.T[example.com/c.U]");
        assert_eq!(type_string("math/rand/v2.runtimeSource"), "rand.runtimeSource");
    }

    #[test]
    fn formats_known_errors() {
        let names = |itab: u64| -> Option<String> {
            Some(match itab {
                1 => "*net.TCPAddr",
                2 => "*os.SyscallError",
                3 => "syscall.Errno",
                _ => return None,
            }.to_string())
        };
        let mut raw = vec![0; 184];
        raw[48] = 1; // Addr itab
        raw[64] = 2; // Err itab
        raw[96] = 3; // SyscallError.Err itab
        raw[112] = 111; // ECONNREFUSED
        raw[128] = 4; // len(IP)
        raw[144] = 1; // port
        raw[168..172].copy_from_slice(&[127, 0, 0, 1]);
        let e = Event { raw: &raw, strs: [b"dial", b"", b"tcp", b"connect", b"", b""], ..Default::default() };
        assert_eq!(message("*net.OpError", &e, &names).as_deref(), Some("dial tcp 127.0.0.1:1: connect: connection refused"));

        let mut raw = vec![0; 184];
        raw[..7].copy_from_slice(&[0x7a, 0x04, b'4', b'2', b'S', b'0', b'2']);
        let m = Event { raw: &raw, strs: [b"", b"Table 'x' doesn't exist", b"", b"", b"", b""], ..Default::default() };
        assert_eq!(message("*mysql.MySQLError", &m, &names).as_deref(), Some("Error 1146 (42S02): Table 'x' doesn't exist"));
        assert_eq!(message("*some.Unknown", &m, &names), None);
        assert_eq!(db_code("*mysql.MySQLError", &m).as_deref(), Some("1146"));
        assert_eq!(db_code("*net.OpError", &m), None);
    }
}
