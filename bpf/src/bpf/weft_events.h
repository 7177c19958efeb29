/* Events and configuration shared by the probes (weft.bpf.c) and Rust
 * (src/events.rs, through bindgen). Declared once, here.
 *
 * Every record in the ring buffer starts with struct weft_hdr; `kind` says
 * which struct follows. Small records (goroutine starts) use
 * weft_small_event; everything else is a weft_event followed by its bytes:
 * raw's first (raw_copied of them), then each copied string at its `off`.
 * Records are as long as what they carry (a hello request's server entry is
 * ~250 bytes), not the largest possible. What num[], str[] and raw hold per
 * kind is listed beside each kind below. Strings are Go strings copied up
 * to WEFT_STR_MAX - 1 bytes: `len` is the length in the target, `copied`
 * how many bytes arrived.
 */
#ifndef WEFT_EVENTS_H
#define WEFT_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define WEFT_STR_MAX 256
#define WEFT_RAW_MAX 2048
#define WEFT_NUM 4
#define WEFT_NSTR 6
/* The attach cookie of entry probes placed on the stack check's JBE rather
 * than a function's first instruction. */
#define WEFT_AT_STACK_CHECK 1
/* The cookie of go_start_end on runqput(pp, newg) in runtime.newproc.func1
 * (newg in RBX) rather than on newproc1's RETs (newg in RAX). */
#define WEFT_AT_RUNQPUT 2
/* An offset the binary has no field for (e.g. Request.pat before Go 1.22). */
#define WEFT_NO_FIELD 0xffffffffffffffffULL

enum weft_kind {
	/* weft_small_event: num[0] parent goid (hdr.goid is the parent too),
	 * num[1] child goid, num[2] the child's g (to tell later whether it lives) */
	WEFT_GO_START = 1,
	/* 2 was goexit1, no longer probed */
	/* serverHandler.ServeHTTP entry. num[0] proto major, num[1] proto minor,
	 * str[0] method, str[1] url.path, str[2] url.raw_query, str[3] host,
	 * str[4] remote addr; raw: the request's header block as read by the
	 * connection's bufio.Reader (HTTP/1; Rust validates it), or for HTTP/2
	 * "\r\ntraceparent: V\r\n[tracestate: V\r\n]" (h2.bpf.h) */
	WEFT_HTTP_SERVER_START = 3,
	/* its RETs. num[0] response.status, num[1] response.wroteHeader, str[0] ServeMux pattern */
	WEFT_HTTP_SERVER_END = 4,
	/* net/http.(*Transport).roundTrip entry. str[0] method, str[1] scheme, str[2] url.host,
	 * str[3] url.path, str[4] url.raw_query, str[5] request.host; num[0] url.user != nil */
	WEFT_HTTP_CLIENT_START = 5,
	/* its RETs. num[0] status code (0: no response), num[1] proto major,
	 * num[2] proto minor, num[3] error itab (0: no error); with an error,
	 * str[0..3] and raw hold its snapshot (errors.bpf.h) */
	WEFT_HTTP_CLIENT_END = 6,
	/* database/sql.Open entry. str[0] driver name; raw: the DSN */
	WEFT_SQL_OPEN_START = 7,
	/* its RETs. num[0] the *DB */
	WEFT_SQL_OPEN_END = 8,
	/* queryDC / execDC / Stmt.QueryContext / Stmt.ExecContext entry.
	 * num[0] the *DB, num[1] 1 for a query, 2 for an exec; raw: the query */
	WEFT_SQL_START = 9,
	/* their RETs. num[3] error itab (0: no error); with an error, str[0..3]
	 * and raw hold its snapshot (errors.bpf.h) */
	WEFT_SQL_END = 10,
};

struct weft_hdr {
	__u32 kind;
	__u32 tgid;
	__u64 goid;
	__u64 ktime_ns; /* CLOCK_MONOTONIC */
};

struct weft_str {
	__u32 len;
	__u16 copied;
	__u16 off; /* of its bytes, counted from the end of the weft_event */
};

struct weft_small_event {
	struct weft_hdr hdr;
	__u64 num[3];
};

/* Span ids the probes chose (only with --write-traceparent, see
 * propagate.bpf.h): Rust uses them, so the exported span is the one named
 * by the traceparent written into the outgoing request. */
struct weft_ids {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 parent_id[8]; /* server: from the incoming traceparent; zero: none */
	__u8 flags;
	__u8 set;          /* 1 when the fields above are valid */
	__u8 pad[6];
};

struct weft_event {
	struct weft_hdr hdr;
	__u64 num[WEFT_NUM];
	struct weft_str str[WEFT_NSTR];
	__u32 raw_len;
	__u32 raw_copied;  /* its bytes come right after the struct */
	struct weft_ids ids; /* HTTP_SERVER_START, HTTP_CLIENT_START */
};

/* Field offsets in the target binary, from its DWARF or the pinned table
 * (src/goelf/offsets.rs). Written by Rust into the one-entry `weft_config_map`
 * before the probes are attached. */
struct weft_config {
	__u32 tgid; /* only this process is traced */
	__u32 pad;
	__u64 g_goid;            /* runtime.g.goid */
	__u64 g_parent_goid;     /* runtime.g.parentGoid */
	__u64 g_status;          /* runtime.g.atomicstatus */
	__u64 req_method;        /* net/http.Request.Method */
	__u64 req_url;           /* .URL */
	__u64 req_proto_major;   /* .ProtoMajor */
	__u64 req_proto_minor;   /* .ProtoMinor */
	__u64 req_host;          /* .Host */
	__u64 req_remote_addr;   /* .RemoteAddr */
	__u64 req_pat;           /* .pat (Go 1.22+) */
	__u64 pattern_str;       /* net/http.pattern.str */
	__u64 url_scheme;        /* net/url.URL.Scheme */
	__u64 url_user;          /* .User */
	__u64 url_host;          /* .Host */
	__u64 url_path;          /* .Path */
	__u64 url_raw_query;     /* .RawQuery */
	__u64 resp_conn;         /* net/http.response.conn */
	__u64 resp_status;       /* .status */
	__u64 resp_wrote_header; /* .wroteHeader */
	__u64 conn_bufr;         /* net/http.conn.bufr */
	__u64 bufio_buf;         /* bufio.Reader.buf */
	__u64 bufio_r;           /* bufio.Reader.r */
	__u64 response_status_code; /* net/http.Response.StatusCode */
	__u64 response_proto_major; /* .ProtoMajor */
	__u64 response_proto_minor; /* .ProtoMinor */
	__u64 stmt_db;           /* database/sql.Stmt.db */
	__u64 stmt_query;        /* .query */
	__u64 bufw_buf;          /* bufio.Writer.buf */
	__u64 bufw_n;            /* bufio.Writer.n */
	__u64 write_traceparent; /* 1: choose ids in the probes and write traceparent */
	__u64 h2_fields;         /* net/http.http2MetaHeadersFrame.Fields */
	__u64 hf_name;           /* vendor/golang.org/x/net/http2/hpack.HeaderField.Name */
	__u64 hf_value;          /* .Value */
	__u64 hf_size;           /* its size (from .Sensitive's offset) */
	__u64 h2_req_url;        /* .URL of what newWriterAndRequest returns (Request, or ServerRequest from Go 1.27) */
	__u64 h2_rw_rws;         /* net/http.http2responseWriter.rws */
	__u64 h2_rws_status;     /* net/http.http2responseWriterState.status */
	__u64 h2_rws_wrote;      /* .wroteHeader */
};

/* Indexes of the `tp_stats` counters (read by Rust at exit). */
enum weft_tp_stat {
	WEFT_TP_WRITTEN = 0, /* traceparent lines written into requests */
	WEFT_TP_SKIPPED = 1, /* requests left alone (no room, unexpected buffer) */
	WEFT_TP_DRY = 2,     /* dry run: lines that would have been written */
	WEFT_TP_NSTATS = 3,
};

#endif
