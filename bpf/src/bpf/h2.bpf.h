/* HTTP/2 server requests (net/http's bundled http2, Go 1.22–1.26, or
 * net/http/internal/http2 from Go 1.27): the incoming traceparent and
 * tracestate. Included by weft.bpf.c after its helpers.
 *
 * An HTTP/2 request has no header block in a bufio.Reader. Its decoded
 * header fields are in the http2MetaHeadersFrame that the connection's
 * serve goroutine hands to (*http2serverConn).newWriterAndRequest(st, f),
 * which returns the request (*Request; from Go 1.27 a *ServerRequest that
 * net/http copies into a *Request sharing its *url.URL). So its entry
 * copies the two values (field names are lower case in HTTP/2) keyed by
 * goroutine, its RETs re-key them by the request's URL pointer, and the
 * server probe (serverHandler.ServeHTTP, on the
 * handler's goroutine) writes them into the event's raw area as header
 * lines "\r\ntraceparent: V\r\ntracestate: V\r\n".
 */

#define H2_MAX_FIELDS 64
#define H2_TP_MAX 64
#define H2_TS_MAX 256

struct h2_ctx {
	__u32 tp_len;
	__u32 ts_len;
	__u8 tp[H2_TP_MAX];
	__u8 ts[H2_TS_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct h2_ctx);
} h2_by_g SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct h2_ctx);
} h2_by_req SEC(".maps"); /* keyed by the request's *url.URL */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h2_ctx);
} h2_scratch SEC(".maps");

static __always_inline int same(const __u8 *a, const char *b, int n)
{
	for (int k = 0; k < n; k++)
		if (a[k] != (__u8)b[k])
			return 0;
	return 1;
}

/* (*http2serverConn).newWriterAndRequest(sc, st *http2stream, f *http2MetaHeadersFrame): RCX f */
SEC("uprobe")
int h2_request(struct pt_regs *ctx)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	__u32 zero = 0;
	struct h2_ctx *h = bpf_map_lookup_elem(&h2_scratch, &zero);
	if (!h)
		return 0;
	h->tp_len = 0;
	h->ts_len = 0;
	__u64 sl[2] = {};
	__u64 f = field(GO_REG2(ctx), cfg->h2_fields);
	if (!f || bpf_probe_read_user(sl, sizeof(sl), (void *)f))
		sl[1] = 0;
	for (int i = 0; i < H2_MAX_FIELDS; i++) {
		if (i >= sl[1])
			break;
		__u64 hf = sl[0] + i * cfg->hf_size;
		__u64 name[2] = {}, val[2] = {};
		if (bpf_probe_read_user(name, sizeof(name), (void *)(hf + cfg->hf_name)) ||
		    bpf_probe_read_user(val, sizeof(val), (void *)(hf + cfg->hf_value)))
			continue;
		__u8 n[11] = {};
		/* 11 bytes either way: one past a 10-byte name is only compared against nothing */
		if ((name[1] != 11 && name[1] != 10) || bpf_probe_read_user(n, sizeof(n), (void *)name[0]))
			continue;
		if (name[1] == 11 && same(n, "traceparent", 11) && val[1] < H2_TP_MAX &&
		    !bpf_probe_read_user(h->tp, val[1] & (H2_TP_MAX - 1), (void *)val[0]))
			h->tp_len = val[1];
		if (name[1] == 10 && same(n, "tracestate", 10) && val[1] < H2_TS_MAX &&
		    !bpf_probe_read_user(h->ts, val[1] & (H2_TS_MAX - 1), (void *)val[0]))
			h->ts_len = val[1];
	}
	__u64 goid = goid_of(cfg, GO_G(ctx));
	if (h->tp_len)
		bpf_map_update_elem(&h2_by_g, &goid, h, BPF_ANY);
	else
		bpf_map_delete_elem(&h2_by_g, &goid);
	return 0;
}

/* its RETs: (*http2responseWriter, *Request, error): RBX the request; keyed by its URL */
SEC("uprobe")
int h2_request_end(struct pt_regs *ctx)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	__u64 goid = goid_of(cfg, GO_G(ctx));
	__u64 req = read_u64(field(GO_REG1(ctx), cfg->h2_req_url));
	struct h2_ctx *h = bpf_map_lookup_elem(&h2_by_g, &goid);
	if (!h) {
		/* A request without trace headers: drop what an earlier request
		 * at the same address left (its handler never ran). */
		if (req)
			bpf_map_delete_elem(&h2_by_req, &req);
		return 0;
	}
	if (req)
		bpf_map_update_elem(&h2_by_req, &req, h, BPF_ANY);
	bpf_map_delete_elem(&h2_by_g, &goid);
	return 0;
}

/* serverHandler.ServeHTTP of an HTTP/2 request: its trace headers as lines
 * in the record's raw bytes (before any string); returns their length (0: none). */
static __always_inline __u32 h2_headers(struct scratch *sc, __u64 url)
{
	__u8 *raw = sc->data;
	struct h2_ctx *h = bpf_map_lookup_elem(&h2_by_req, &url);
	if (!h)
		return 0;
	__u32 tp = h->tp_len & (H2_TP_MAX - 1), ts = h->ts_len & (H2_TS_MAX - 1);
	__builtin_memcpy(raw, "\r\ntraceparent: ", 15);
	bpf_probe_read_kernel(raw + 15, tp, h->tp);
	__u32 off = 15 + tp;
	raw[off & RAW_MASK] = '\r';
	raw[(off + 1) & RAW_MASK] = '\n';
	off += 2;
	if (ts) {
		const char key[] = "tracestate: ";
		off &= 127; /* at most 15 + 63 + 2 */
		for (int k = 0; k < 12; k++)
			raw[(off + k) & RAW_MASK] = key[k];
		off += 12;
		bpf_probe_read_kernel(raw + (off & 127), ts, h->ts);
		off = (off & 127) + ts;
		raw[off & RAW_MASK] = '\r';
		raw[(off + 1) & RAW_MASK] = '\n';
		off += 2;
	}
	bpf_map_delete_elem(&h2_by_req, &url);
	sc->e.raw_len = off;
	sc->e.raw_copied = off;
	sc->used = off;
	return off;
}
