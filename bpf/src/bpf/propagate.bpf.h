/* Outgoing trace context: with --write-traceparent (cfg->write_traceparent)
 * the probes choose the span ids of server and client spans themselves, and
 * write a `traceparent` header line into each outgoing HTTP/1 request.
 * Included by weft.bpf.c after its maps and helpers.
 *
 * Why the probes and not Rust: the line has to be written while the
 * request's header is being written, long before Rust has seen the client
 * span's event. So the probes keep, per goroutine, the trace id (and flags)
 * of the current request (`g_trace`: set by the server probe from the
 * incoming traceparent or at random, copied to goroutines created by
 * runtime.newproc1), pick the client span's id at (*Transport).roundTrip, and hand
 * all ids to Rust in the events (struct weft_ids), which uses them.
 *
 * The write (the idea of grafana/beyla and opentelemetry-go-instrumentation):
 * persistConn.writeLoop calls (*Request).write(pc.bw, ...), which writes the
 * request line and Host/User-Agent/transfer headers into the connection's
 * bufio.Writer and then calls Header.writeSubset(w, ...) for the user's
 * headers. At writeSubset's entry the buffer ends with a complete header
 * line, so one more line `traceparent: 00-<trace>-<span>-<flags>\r\n` is
 * copied to buf[n:] and n is raised by its length — only when the buffer
 * has room, still starts with this request's method and ends with CRLF.
 * Everything else is left alone and counted (`tp_stats`).
 *
 * http_header_write calls bpf_probe_write_user, which the kernel warns
 * about and refuses under lockdown; Rust loads it only with the flag.
 */

#define TP_LINE_LEN 70 /* "traceparent: 00-" 32 "-" 16 "-" 2 "\r\n" */
#define RAW_MASK (WEFT_RAW_MAX - 1)

/* A goroutine's current trace. */
struct trace_ctx {
	__u8 trace_id[16];
	__u8 flags;
	__u8 pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct trace_ctx);
} g_trace SEC(".maps");

/* The ids of a client span being sent, by its request's *url.URL (shallow
 * copies of the request made inside the transport share it). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct weft_ids);
} client_ids SEC(".maps");

/* roundTrip's goroutine -> the URL key above, to drop it at its return. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} client_url SEC(".maps");

/* (*Request).write entry -> Header.writeSubset entry, on the writing goroutine. */
struct pending_write {
	struct weft_ids ids;
	__u8 method[16];
	__u32 method_len;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pending_write);
} pending_writes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEFT_TP_NSTATS);
	__type(key, __u32);
	__type(value, __u64);
} tp_stats SEC(".maps");

/* A copy of the incoming header block to scan (bpf_loop callbacks look it up). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[WEFT_RAW_MAX]);
} tp_scratch SEC(".maps");

static __always_inline void tp_count(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&tp_stats, &which);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline void rand_fill(__u8 *p, int words)
{
	for (int i = 0; i < words; i++) {
		__u32 r = bpf_get_prandom_u32();
		__builtin_memcpy(p + 4 * i, &r, 4);
	}
}

static __always_inline void new_span_id(struct weft_ids *ids)
{
	rand_fill(ids->span_id, 2);
	if (!(ids->span_id[0] | ids->span_id[1] | ids->span_id[2] | ids->span_id[3]))
		ids->span_id[0] = 1; /* never all zero */
}

static __always_inline void new_trace_id(__u8 *t)
{
	rand_fill(t, 4);
	t[15] |= 1; /* never all zero */
}

static __always_inline int hexv(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

struct tp_scan {
	__u32 n;  /* bytes of the block */
	__s32 at; /* start of the first traceparent value in the last request, or -1 */
};

/* One byte of the block: a blank line before the end starts another
 * (pipelined) request; "\ntraceparent:" (any case) marks a value. */
static long tp_scan_step(__u64 i, void *arg)
{
	struct tp_scan *s = arg;
	__u32 zero = 0;
	__u8 *b = bpf_map_lookup_elem(&tp_scratch, &zero);
	if (!b || i + 3 >= s->n)
		return 1;
	if (b[i & RAW_MASK] != '\n')
		return 0;
	if (b[(i + 1) & RAW_MASK] == '\r' && b[(i + 2) & RAW_MASK] == '\n') {
		s->at = -1;
		return 0;
	}
	if (s->at >= 0 || i + 13 >= s->n)
		return 0;
	const char pat[] = "traceparent:";
	for (int k = 0; k < 12; k++)
		if ((b[(i + 1 + k) & RAW_MASK] | 0x20) != pat[k])
			return 0;
	s->at = i + 13;
	return 0;
}

/* Decodes `len` hex digits at b[at..] into out; 0 if any is not lower-case hex. */
static __always_inline int hex_at(__u8 *b, __u32 at, __u8 *out, int len)
{
	for (int k = 0; k < len; k += 2) {
		int hi = hexv(b[(at + k) & RAW_MASK]), lo = hexv(b[(at + k + 1) & RAW_MASK]);
		if (hi < 0 || lo < 0)
			return 0;
		out[k / 2] = hi << 4 | lo;
	}
	return 1;
}

/* The incoming traceparent of the request whose header block is at
 * [buf, buf+len), validated as spans/http.rs parse_traceparent does. */
static __always_inline int incoming_traceparent(__u64 buf, __u64 len, int user, struct weft_ids *ids)
{
	__u32 zero = 0;
	__u8 *b = bpf_map_lookup_elem(&tp_scratch, &zero);
	if (!b || !buf)
		return 0;
	__u32 n = len > WEFT_RAW_MAX ? WEFT_RAW_MAX : len;
	if (n < 16 || n > WEFT_RAW_MAX)
		return 0;
	if (user ? bpf_probe_read_user(b, n, (void *)buf) : bpf_probe_read_kernel(b, n, (void *)buf))
		return 0;
	struct tp_scan s = { .n = n, .at = -1 };
	bpf_loop(WEFT_RAW_MAX, tp_scan_step, &s, 0);
	if (s.at < 0)
		return 0;
	__u32 at = s.at;
	for (int k = 0; k < 4; k++)
		if (b[at & RAW_MASK] == ' ' || b[at & RAW_MASK] == '\t')
			at++;
	if (at + 55 > n)
		return 0;
	__u8 ver[1];
	if (!hex_at(b, at, ver, 2) || ver[0] == 0xff)
		return 0;
	if (b[(at + 2) & RAW_MASK] != '-' || b[(at + 35) & RAW_MASK] != '-' || b[(at + 52) & RAW_MASK] != '-')
		return 0;
	if (!hex_at(b, at + 3, ids->trace_id, 32) || !hex_at(b, at + 36, ids->parent_id, 16) || !hex_at(b, at + 53, &ids->flags, 2))
		return 0;
	if (at + 55 < n) {
		__u8 c = b[(at + 55) & RAW_MASK];
		if (!(c == '\r' || c == '\n' || c == ' ' || c == '\t' || (c == '-' && ver[0] != 0)))
			return 0;
	}
	__u8 t = 0, p = 0;
	for (int k = 0; k < 16; k++)
		t |= ids->trace_id[k];
	for (int k = 0; k < 8; k++)
		p |= ids->parent_id[k];
	return t && p;
}

/* serverHandler.ServeHTTP entry: the server span's ids; the goroutine's trace. */
static __always_inline void propagate_server_from(struct weft_config *cfg, struct weft_event *e, __u64 buf, __u64 len, int user)
{
	if (!cfg->write_traceparent)
		return;
	struct weft_ids *ids = &e->ids;
	if (!incoming_traceparent(buf, len, user, ids)) {
		__builtin_memset(ids->parent_id, 0, sizeof(ids->parent_id));
		new_trace_id(ids->trace_id);
		ids->flags = 1;
	}
	new_span_id(ids);
	ids->set = 1;
	struct trace_ctx t = { .flags = ids->flags };
	__builtin_memcpy(t.trace_id, ids->trace_id, 16);
	__u64 goid = e->hdr.goid;
	bpf_map_update_elem(&g_trace, &goid, &t, BPF_ANY);
}

/* The header block in the target's memory (HTTP/1). */
static __always_inline void propagate_server(struct weft_config *cfg, struct weft_event *e, __u64 buf, __u64 len)
{
	propagate_server_from(cfg, e, buf, len, 1);
}

/* The header lines h2.bpf.h put in the event (HTTP/2). */
static __always_inline void propagate_server_kernel(struct weft_config *cfg, struct scratch *sc)
{
	__u32 n = sc->e.raw_copied;
	propagate_server_from(cfg, &sc->e, (__u64)sc->data, n > WEFT_RAW_MAX ? WEFT_RAW_MAX : n, 0);
}

static __always_inline void propagate_server_end(struct weft_config *cfg, __u64 goid)
{
	if (cfg->write_traceparent)
		bpf_map_delete_elem(&g_trace, &goid);
}

/* A goroutine was created: the child runs in its creator's trace. Exits are
 * not probed; g_trace is an LRU map and goids are never reused. */
static __always_inline void propagate_fork(struct weft_config *cfg, __u64 parent, __u64 child)
{
	if (!cfg->write_traceparent)
		return;
	struct trace_ctx *t = bpf_map_lookup_elem(&g_trace, &parent);
	if (t) {
		struct trace_ctx c = *t;
		bpf_map_update_elem(&g_trace, &child, &c, BPF_ANY);
	}
}

/* roundTrip entry: the client span's ids, kept for the request write. */
static __always_inline void propagate_client(struct weft_config *cfg, struct weft_event *e, __u64 url)
{
	if (!cfg->write_traceparent || !url)
		return;
	struct weft_ids *ids = &e->ids;
	__u64 goid = e->hdr.goid;
	struct trace_ctx *t = bpf_map_lookup_elem(&g_trace, &goid);
	if (t) {
		__builtin_memcpy(ids->trace_id, t->trace_id, 16);
		ids->flags = t->flags;
	} else {
		new_trace_id(ids->trace_id);
		ids->flags = 1;
	}
	__builtin_memset(ids->parent_id, 0, sizeof(ids->parent_id));
	new_span_id(ids);
	ids->set = 1;
	struct weft_ids copy = *ids;
	bpf_map_update_elem(&client_ids, &url, &copy, BPF_ANY);
	bpf_map_update_elem(&client_url, &goid, &url, BPF_ANY);
}

static __always_inline void propagate_client_end(struct weft_config *cfg, __u64 goid)
{
	if (!cfg->write_traceparent)
		return;
	__u64 *url = bpf_map_lookup_elem(&client_url, &goid);
	if (!url)
		return;
	__u64 key = *url;
	bpf_map_delete_elem(&client_ids, &key);
	bpf_map_delete_elem(&client_url, &goid);
}

/* (*Request).write(r, w io.Writer, usingProxy bool, extraHeaders Header,
 * waitForContinue func() bool): RAX r. Remembers, for this goroutine,
 * whether r belongs to a client span being sent (else forgets). */
SEC("uprobe")
int http_req_write(struct pt_regs *ctx)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	__u64 goid = goid_of(cfg, GO_G(ctx));
	__u64 req = GO_REG0(ctx);
	__u64 url = read_u64(field(req, cfg->req_url));
	struct weft_ids *ids = url ? bpf_map_lookup_elem(&client_ids, &url) : 0;
	if (!ids) {
		bpf_map_delete_elem(&pending_writes, &goid);
		return 0;
	}
	struct pending_write p = { .ids = *ids };
	__u64 m[2] = {};
	__u64 maddr = field(req, cfg->req_method);
	if (maddr)
		bpf_probe_read_user(m, sizeof(m), (void *)maddr);
	if (m[1] > 15 || (m[1] && bpf_probe_read_user(p.method, m[1] & 15, (void *)m[0]))) {
		bpf_map_delete_elem(&pending_writes, &goid); /* never an older request's ids */
		return 0;
	}
	if (!m[1]) {
		__builtin_memcpy(p.method, "GET", 3);
		m[1] = 3;
	}
	p.method_len = m[1];
	bpf_map_update_elem(&pending_writes, &goid, &p, BPF_ANY);
	return 0;
}

static __always_inline void hex_out(__u8 *out, const __u8 *in, int n)
{
	for (int k = 0; k < n; k++) {
		__u8 hi = in[k] >> 4, lo = in[k] & 15;
		out[2 * k] = hi < 10 ? '0' + hi : 'a' + hi - 10;
		out[2 * k + 1] = lo < 10 ? '0' + lo : 'a' + lo - 10;
	}
}

/* Header.writeSubset(h, w io.Writer, exclude, trace): RBX w's itab, RCX w's
 * data (the connection's *bufio.Writer when called from Request.write).
 * `dry`: check everything, count WEFT_TP_DRY instead of writing (the
 * program then has no bpf_probe_write_user: tests on locked-down kernels). */
static __always_inline int header_write(struct pt_regs *ctx, int dry)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	__u64 goid = goid_of(cfg, GO_G(ctx));
	struct pending_write *pp = bpf_map_lookup_elem(&pending_writes, &goid);
	if (!pp)
		return 0;
	struct pending_write p = *pp;
	bpf_map_delete_elem(&pending_writes, &goid);

	__u64 bw = GO_REG2(ctx);
	__u64 sl[3] = {}; /* buf: ptr, len, cap */
	__u64 n = 0;
	if (!field(bw, cfg->bufw_buf) || !field(bw, cfg->bufw_n) ||
	    bpf_probe_read_user(sl, sizeof(sl), (void *)(bw + cfg->bufw_buf)) ||
	    bpf_probe_read_user(&n, sizeof(n), (void *)(bw + cfg->bufw_n)))
		goto skip;
	if (!sl[0] || sl[1] > sl[2] || sl[1] > (1 << 26) || n < 16 || n > sl[1] || sl[1] - n < TP_LINE_LEN)
		goto skip;
	/* The buffer must hold this request so far: "<METHOD> " ... "\r\n". */
	__u8 head[16] = {}, tail[2] = {};
	if (bpf_probe_read_user(head, sizeof(head), (void *)sl[0]) || bpf_probe_read_user(tail, 2, (void *)(sl[0] + n - 2)))
		goto skip;
	if (tail[0] != '\r' || tail[1] != '\n')
		goto skip;
	for (int k = 0; k < 16; k++) {
		if (k == p.method_len) {
			if (head[k] != ' ')
				goto skip;
			break;
		}
		if (head[k] != p.method[k])
			goto skip;
	}

	__u8 line[TP_LINE_LEN];
	__builtin_memcpy(line, "traceparent: 00-", 16);
	hex_out(line + 16, p.ids.trace_id, 16);
	line[48] = '-';
	hex_out(line + 49, p.ids.span_id, 8);
	line[65] = '-';
	hex_out(line + 66, &p.ids.flags, 1);
	line[68] = '\r';
	line[69] = '\n';
	if (dry) {
		tp_count(WEFT_TP_DRY);
		return 0;
	}
	if (bpf_probe_write_user((void *)(sl[0] + n), line, TP_LINE_LEN))
		goto skip;
	n += TP_LINE_LEN;
	if (bpf_probe_write_user((void *)(bw + cfg->bufw_n), &n, sizeof(n)))
		goto skip; /* the bytes past n are unused: nothing changed */
	tp_count(WEFT_TP_WRITTEN);
	return 0;
skip:
	tp_count(WEFT_TP_SKIPPED);
	return 0;
}

SEC("uprobe")
int http_header_write(struct pt_regs *ctx)
{
	return header_write(ctx, 0);
}

SEC("uprobe")
int http_header_dry(struct pt_regs *ctx)
{
	return header_write(ctx, 1);
}
