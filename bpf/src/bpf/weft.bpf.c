// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* weft's uprobes on Go programs (amd64; registers named in goabi.bpf.h).
 *
 * Every program is a plain uprobe: Rust attaches the entry programs at the
 * JBE of a function's stack check (else its first instruction; registers
 * are the same there) and the *_end programs at each of its RET
 * instructions (never uretprobes: they corrupt Go's moving stacks). They
 * read arguments from registers per Go's internal ABI (integer arguments in
 * RAX, RBX, RCX, RDI, RSI, R8, R9, R10, R11; results the same way; the
 * current g in R14), copy what the spans need into one ring-buffer record,
 * and leave all pairing, parenting and semantic conventions to Rust.
 * Struct field offsets come from `weft_config_map` (DWARF or the pinned
 * table), never from compile-time constants.
 */
#include "include/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "weft_events.h"
#include "goabi.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weft_config);
} weft_config_map SEC(".maps");

/* serverHandler.ServeHTTP entry -> its RETs: the request and the
 * ResponseWriter's data pointer, by goroutine id. */
struct server_args {
	__u64 req;
	__u64 rw;
	__u64 proto_major;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct server_args);
} server_calls SEC(".maps");

/* The same, first in a slot per goid modulo SERVER_SLOTS: an array lookup
 * costs far less than an LRU hash update and delete. A goroutine whose slot
 * holds another's unfinished call uses server_calls instead.
 *
 * A slot also keeps what stays fixed while an HTTP/1 connection's goroutine
 * ((*conn).serve) serves request after request on it: the conn's
 * bufio.Reader, its remote address and the last ServeMux pattern's text
 * (goids are never reused; patterns live as long as their mux). Written
 * and read only by the slot's owner. */
#define SERVER_SLOTS (1 << 13)
#define PEER_MAX 64
#define PAT_MAX 128
struct server_slot {
	__u64 goid; /* 0: free */
	struct server_args a;
	__u64 conn_goid; /* whose conn the rest is */
	__u64 bufr;
	__u64 peer_ptr, peer_len; /* the RemoteAddr string, and its bytes */
	__u8 peer[PEER_MAX];
	__u64 pat_ptr, pat_len; /* a *pattern, and its str's bytes */
	__u8 pat[PAT_MAX];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SERVER_SLOTS);
	__type(key, __u32);
	__type(value, struct server_slot);
} server_slots SEC(".maps");

static __always_inline struct server_slot *server_slot_of(__u64 goid)
{
	__u32 i = goid & (SERVER_SLOTS - 1);
	return bpf_map_lookup_elem(&server_slots, &i);
}

/* Records the call; returns goid's slot when it owns it. */
static __always_inline struct server_slot *server_call_put(__u64 goid, struct server_args *a)
{
	struct server_slot *s = server_slot_of(goid);
	if (s) {
		__u64 was = __sync_val_compare_and_swap(&s->goid, 0, goid);
		if (was == 0 || was == goid) {
			s->a = *a;
			return s;
		}
	}
	bpf_map_update_elem(&server_calls, &goid, a, BPF_ANY);
	return 0;
}

/* goid's call into *out; 0 when there is none. When it is in goid's slot,
 * *own is that slot, still owned: server_slot_free gives it up. */
static __always_inline int server_call_take(__u64 goid, struct server_args *out, struct server_slot **own)
{
	struct server_slot *s = server_slot_of(goid);
	*own = 0;
	if (s && s->goid == goid) {
		*out = s->a;
		*own = s;
		return 1;
	}
	struct server_args *a = bpf_map_lookup_elem(&server_calls, &goid);
	if (!a)
		return 0;
	*out = *a;
	bpf_map_delete_elem(&server_calls, &goid);
	return 1;
}

static __always_inline void server_slot_free(struct server_slot *own, __u64 goid)
{
	if (own)
		__sync_val_compare_and_swap(&own->goid, goid, 0);
}

/* n bytes (a multiple of 8) between 8-aligned places. */
static __always_inline void copy8(__u8 *dst, const __u8 *src, int n)
{
#pragma unroll
	for (int i = 0; i < n; i += 8)
		*(__u64 *)(dst + i) = *(const __u64 *)(src + i);
}

/* Goroutines inside a database/sql call the probes saw start: its end
 * program may sit in a caller's caller (probes.rs), which also runs when
 * the call never started (db.conn failed). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} sql_calls SEC(".maps");

/* Goroutines that may carry a span context beyond server_calls and
 * sql_calls: those that sent an HTTP request (roundTrip), and those created by a
 * goroutine that may carry one. A goroutine creation is reported only when
 * its creator is one of them (Rust links nothing else: it gives a new
 * goroutine its creator's current span). A slot per goid modulo
 * G_CTX_SLOTS holding the goid: a plain array (an LRU hash update cost
 * ~1 µs per goroutine); marks are never removed, and one is forgotten only
 * when a goroutine G_CTX_SLOTS ids later takes its slot (a long-lived
 * goroutine's later children are then not linked). */
#define G_CTX_SLOTS (1 << 18)
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, G_CTX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} g_ctx SEC(".maps");

static __always_inline int may_have_ctx(__u64 goid)
{
	__u32 i = goid & (G_CTX_SLOTS - 1);
	__u64 *v = bpf_map_lookup_elem(&g_ctx, &i);
	if (v && *v == goid)
		return 1;
	struct server_slot *s = server_slot_of(goid);
	if (s && s->goid == goid)
		return 1;
	return bpf_map_lookup_elem(&server_calls, &goid) || bpf_map_lookup_elem(&sql_calls, &goid);
}

static __always_inline void mark_ctx(__u64 goid)
{
	__u32 i = goid & (G_CTX_SLOTS - 1);
	__u64 *v = bpf_map_lookup_elem(&g_ctx, &i);
	if (v)
		*v = goid;
}

/* Counts records the ring buffer had no room for (read by Rust). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dropped SEC(".maps");

/* Records are submitted without waking the loader, which drains the ring on
 * a timer (a wakeup per record costs more than the probe itself); only a
 * ring filling up wakes it early. */
#define WAKE_AT (1 << 20)

static __always_inline __u64 submit_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > WAKE_AT ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* An entry probe on the stack check's JBE (see rets.rs) sees the jump taken
 * (CF or ZF set) when the stack must grow first: the function then starts
 * over from its first instruction, and the probe fires again. */
static __always_inline int will_restart(struct pt_regs *ctx)
{
	return bpf_get_attach_cookie(ctx) == WEFT_AT_STACK_CHECK && (ctx->flags & 0x41);
}

/* The config, when this hit is the traced process's and counts. */
static __always_inline struct weft_config *cfg_for_me(struct pt_regs *ctx)
{
	__u32 zero = 0;
	if (will_restart(ctx))
		return 0;
	struct weft_config *cfg = bpf_map_lookup_elem(&weft_config_map, &zero);
	if (!cfg)
		return 0;
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) != cfg->tgid)
		return 0;
	return cfg;
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&dropped, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline __u64 read_u64(__u64 addr)
{
	__u64 v = 0;
	if (addr)
		bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

static __always_inline __u64 goid_of(struct weft_config *cfg, __u64 g)
{
	return read_u64(g + cfg->g_goid);
}

static __always_inline __u64 field(__u64 base, __u64 off)
{
	if (!base || off == WEFT_NO_FIELD)
		return 0;
	return base + off;
}

/* Two u64 fields of the struct at `base` in one read when they are at most
 * 128 bytes apart (each bpf_probe_read_user costs ~0.2 µs), else two. */
static __always_inline void read_two(__u64 base, __u64 off_a, __u64 off_b, __u64 *a, __u64 *b)
{
	__u64 w[17];
	*a = 0;
	*b = 0;
	if (!base || off_a == WEFT_NO_FIELD || off_b == WEFT_NO_FIELD)
		goto apart;
	__u64 lo = off_a < off_b ? off_a : off_b, d = off_a < off_b ? off_b - off_a : off_a - off_b;
	if (d > 128 || (d & 7))
		goto apart;
	barrier_var(d);
	d &= 0xf8;
	if (d > 128 || bpf_probe_read_user(w, d + 8, (void *)(base + lo)))
		goto apart;
	__u64 hi = w[(d >> 3) & 0x1f];
	*a = off_a <= off_b ? w[0] : hi;
	*b = off_a <= off_b ? hi : w[0];
	return;
apart:
	*a = read_u64(field(base, off_a));
	*b = read_u64(field(base, off_b));
}

/* Bulk reads: the first REQ_BLOCK bytes of a Request and URL_BLOCK of a
 * URL (every field the server probe reads, Go 1.22-1.27). */
#define REQ_BLOCK 192
#define URL_BLOCK 128

/* A record is built in a per-CPU scratch slot, then copied to the ring with
 * only the bytes it uses (bpf_ringbuf_output): reserving the largest record
 * (3.7 KiB) in the ring for each event cost a cache and TLB miss per line
 * touched, in the probe and again in the loader. The bytes follow the
 * struct: raw first (at most WEFT_RAW_MAX - 1), then each string appended
 * at `used`; all of them fit in DATA_MAX, and DATA_ROOM lets the verifier
 * see every copy in bounds. */
#define DATA_MAX 4096
#define DATA_ROOM (DATA_MAX + WEFT_RAW_MAX)
#define NSLOTS 2

struct scratch {
	struct weft_event e;
	__u8 data[DATA_ROOM];
	__u32 used; /* bytes of data written */
	__u32 slot;
	/* copies of the Request and URL (http_server), padded for blk_u64's mask */
	__u8 blk[REQ_BLOCK + URL_BLOCK + 256];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NSLOTS);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Which of this CPU's slots are taken: a program preempted while building a
 * record (PREEMPT kernels) keeps its slot from the next one on the CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} scratch_busy SEC(".maps");

static __always_inline void release(__u32 slot)
{
	__u32 zero = 0;
	__u32 *busy = bpf_map_lookup_elem(&scratch_busy, &zero);
	if (busy)
		__sync_fetch_and_and(busy, ~(1u << (slot & (NSLOTS - 1))));
}

static __always_inline struct scratch *try_slot(__u32 *busy, __u32 i)
{
	__u32 bit = 1u << i;
	if (__sync_fetch_and_or(busy, bit) & bit)
		return 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &i);
	if (!sc) {
		release(i);
		return 0;
	}
	sc->slot = i;
	sc->used = 0;
	return sc;
}

static __always_inline struct scratch *claim(void)
{
	__u32 zero = 0;
	__u32 *busy = bpf_map_lookup_elem(&scratch_busy, &zero);
	if (!busy)
		return 0;
	struct scratch *sc = try_slot(busy, 0);
	return sc ? sc : try_slot(busy, 1); /* NSLOTS */
}

/* String i: `len` bytes at p in the target, appended to the record's bytes. */
static __always_inline void set_str(struct scratch *sc, int i, __u64 p, __u64 len)
{
	struct weft_str *s = &sc->e.str[i];
	__u64 n = len > WEFT_STR_MAX - 1 ? WEFT_STR_MAX - 1 : len;
	__u64 off = sc->used;
	barrier_var(n); /* keep the masks: the verifier needs them */
	n &= WEFT_STR_MAX - 1;
	off &= DATA_MAX - 1;
	s->len = len;
	s->copied = 0;
	s->off = off;
	if (p && n && bpf_probe_read_user(sc->data + off, n, (void *)p) == 0) {
		s->copied = n;
		sc->used = off + n;
	}
}

/* String i from a Go string header (ptr, len) at addr. */
static __always_inline void read_str(struct scratch *sc, int i, __u64 addr)
{
	__u64 h[2] = {};
	if (addr)
		bpf_probe_read_user(h, sizeof(h), (void *)addr);
	set_str(sc, i, h[0], h[1]);
}

/* The u64 at `off` of the struct at `base`, from its copy `blk` (its first
 * `n` bytes, n <= 256) when it lies inside, else read on its own. */
static __always_inline __u64 blk_u64(const __u8 *blk, __u64 n, __u64 base, __u64 off)
{
	if (!base || off == WEFT_NO_FIELD)
		return 0;
	if (off + 8 > n)
		return read_u64(base + off);
	return *(const __u64 *)(blk + (off & 0xf8));
}

/* String i from a Go string header at `off` of the struct at `base` (see blk_u64). */
static __always_inline void blk_str(struct scratch *sc, int i, const __u8 *blk, __u64 n, __u64 base, __u64 off)
{
	if (!base || off == WEFT_NO_FIELD || off + 16 > n) {
		read_str(sc, i, field(base, off));
		return;
	}
	set_str(sc, i, blk_u64(blk, n, base, off), blk_u64(blk, n, base, off + 8));
}

/* The raw bytes: `len` at p in the target. Only before any string. */
static __always_inline void set_raw(struct scratch *sc, __u64 p, __u64 len)
{
	__u64 n = len > WEFT_RAW_MAX - 1 ? WEFT_RAW_MAX - 1 : len;
	barrier_var(n);
	n &= WEFT_RAW_MAX - 1;
	sc->e.raw_len = len;
	sc->e.raw_copied = 0;
	if (p && n && bpf_probe_read_user(sc->data, n, (void *)p) == 0) {
		sc->e.raw_copied = n;
		sc->used = n;
	}
}

/* A record of goroutine goid (the caller read it already). */
static __always_inline struct scratch *start_event_of(struct weft_config *cfg, __u32 kind, __u64 goid)
{
	struct scratch *sc = claim();
	if (!sc) {
		count_drop();
		return 0;
	}
	struct weft_event *e = &sc->e;
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.kind = kind;
	e->hdr.tgid = cfg->tgid;
	e->hdr.goid = goid;
	e->hdr.ktime_ns = bpf_ktime_get_ns();
	return sc;
}

static __always_inline struct scratch *start_event(struct weft_config *cfg, struct pt_regs *ctx, __u32 kind)
{
	return start_event_of(cfg, kind, goid_of(cfg, GO_G(ctx)));
}

/* Copies the record (the struct and the bytes used) to the ring; frees the slot. */
static __always_inline void submit(struct scratch *sc)
{
	__u32 used = sc->used;
	if (used > DATA_ROOM)
		used = DATA_ROOM;
	if (bpf_ringbuf_output(&events, sc, sizeof(struct weft_event) + used, submit_flags()))
		count_drop();
	release(sc->slot);
}

static __always_inline int small_event(struct weft_config *cfg, __u32 kind, __u64 goid, __u64 a, __u64 b, __u64 c)
{
	struct weft_small_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	e->hdr.kind = kind;
	e->hdr.tgid = cfg->tgid;
	e->hdr.goid = goid;
	e->hdr.ktime_ns = bpf_ktime_get_ns();
	e->num[0] = a;
	e->num[1] = b;
	e->num[2] = c;
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

#include "propagate.bpf.h"
#include "errors.bpf.h"
#include "h2.bpf.h"

/* ---- goroutines ---- */

/* runtime.newproc1(fn, callergp, ...) returns newg in RAX. One probe, on
 * newproc's runqput(pp, newg) call right after it (newg in RBX), else at
 * newproc1's RETs: newg carries its own goid and its creator's
 * (g.parentGoid, Go 1.21+). Goroutine exits are not probed (a trap per
 * goroutine): Rust checks the g's of goroutines it keeps state for instead
 * (see spans/). */
SEC("uprobe")
int go_start_end(struct pt_regs *ctx)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	/* both read first: the verifier refuses a computed offset into ctx */
	__u64 ax = GO_REG0(ctx), bx = GO_REG1(ctx);
	barrier_var(ax);
	barrier_var(bx);
	__u64 newg = bpf_get_attach_cookie(ctx) == WEFT_AT_RUNQPUT ? bx : ax;
	__u64 parent, child;
	read_two(newg, cfg->g_parent_goid, cfg->g_goid, &parent, &child);
	propagate_fork(cfg, parent, child);
	if (!may_have_ctx(parent))
		return 0; /* most goroutines: net/http's per-connection ones */
	mark_ctx(child);
	return small_event(cfg, WEFT_GO_START, parent, parent, child, newg);
}

/* ---- net/http server ---- */

/* Method, URL path and raw query as strings 0-2 in one read when they lie
 * in one request line: net/http parses the line into substrings of one
 * string, and the URL keeps them when nothing in them is escaped. Returns 0
 * when they do not (the caller then reads them one by one). */
static __always_inline int request_line(struct scratch *sc, const __u8 *rq, const __u8 *ur, __u64 req, __u64 url, struct weft_config *cfg)
{
	if (!url || cfg->req_method + 16 > REQ_BLOCK || cfg->url_path + 16 > URL_BLOCK || cfg->url_raw_query + 16 > URL_BLOCK)
		return 0;
	__u64 m = blk_u64(rq, REQ_BLOCK, req, cfg->req_method), ml = blk_u64(rq, REQ_BLOCK, req, cfg->req_method + 8);
	__u64 p = blk_u64(ur, URL_BLOCK, url, cfg->url_path), pl = blk_u64(ur, URL_BLOCK, url, cfg->url_path + 8);
	__u64 q = blk_u64(ur, URL_BLOCK, url, cfg->url_raw_query), ql = blk_u64(ur, URL_BLOCK, url, cfg->url_raw_query + 8);
	const __u64 max = WEFT_STR_MAX - 1;
	if (!m || !ml || ml > max || p < m || p + pl > m + max || (ql && (q < m || q + ql > m + max)))
		return 0;
	__u64 end = p + pl;
	if (m + ml > end)
		end = m + ml;
	if (ql && q + ql > end)
		end = q + ql;
	__u64 n = end - m;
	__u64 off = sc->used;
	barrier_var(n);
	n &= WEFT_STR_MAX - 1;
	off &= DATA_MAX - 1;
	if (!n || bpf_probe_read_user(sc->data + off, n, (void *)m))
		return 0;
	struct weft_str *s = sc->e.str;
	s[0].len = ml;
	s[0].copied = ml;
	s[0].off = off;
	s[1].len = pl;
	s[1].copied = pl;
	s[1].off = off + (p - m);
	s[2].len = ql;
	s[2].copied = ql;
	s[2].off = ql ? off + (q - m) : 0;
	sc->used = off + n;
	return 1;
}

/* String 4, the RemoteAddr, from the slot when the Request's string is the
 * one kept there (the same conn's); else keeps it for the next request and
 * returns 0. */
static __always_inline int peer_cached(struct scratch *sc, struct server_slot *own, const __u8 *rq, __u64 req, struct weft_config *cfg)
{
	if (cfg->req_remote_addr + 16 > REQ_BLOCK)
		return 0;
	__u64 p = blk_u64(rq, REQ_BLOCK, req, cfg->req_remote_addr), n = blk_u64(rq, REQ_BLOCK, req, cfg->req_remote_addr + 8);
	if (!p || !n || n > PEER_MAX)
		return 0;
	__u64 off = (sc->used + 7) & ~7ULL;
	off &= DATA_MAX - 1;
	if (own->peer_ptr != p || own->peer_len != n) {
		/* read into the record, and kept when that worked */
		__u64 m = n;
		barrier_var(m);
		m &= 2 * PEER_MAX - 1;
		if (!m || bpf_probe_read_user(sc->data + off, m, (void *)p))
			return 0;
		copy8(own->peer, sc->data + off, PEER_MAX);
		own->peer_ptr = p;
		own->peer_len = n;
	} else {
		copy8(sc->data + off, own->peer, PEER_MAX);
	}
	struct weft_str *s = &sc->e.str[4];
	s->len = n;
	s->copied = n;
	s->off = off;
	sc->used = off + n;
	return 1;
}

/* net/http.serverHandler.ServeHTTP(sh, rw ResponseWriter, req *Request):
 * RAX sh.srv, RBX rw's itab, RCX rw's data, RDI req. */
SEC("uprobe")
int http_server(struct pt_regs *ctx)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	__u64 req = GO_REG3(ctx), rw = GO_REG2(ctx);
	struct scratch *sc = start_event(cfg, ctx, WEFT_HTTP_SERVER_START);
	if (!sc)
		return 0;
	struct weft_event *e = &sc->e;

	/* The Request's and the URL's first bytes in one read each; fields
	 * past them are read one by one. */
	__u8 *rq = sc->blk, *ur = sc->blk + REQ_BLOCK;
	if (bpf_probe_read_user(rq, REQ_BLOCK, (void *)req))
		__builtin_memset(rq, 0, REQ_BLOCK);
	e->num[0] = blk_u64(rq, REQ_BLOCK, req, cfg->req_proto_major);
	e->num[1] = blk_u64(rq, REQ_BLOCK, req, cfg->req_proto_minor);
	struct server_args args = { .req = req, .rw = rw, .proto_major = e->num[0] };
	__u64 goid = e->hdr.goid;
	struct server_slot *own = server_call_put(goid, &args);
	__u64 url = blk_u64(rq, REQ_BLOCK, req, cfg->req_url);
	if (!url || bpf_probe_read_user(ur, URL_BLOCK, (void *)url))
		__builtin_memset(ur, 0, URL_BLOCK);

	/* raw first (the record's bytes start with it) */
	if (e->num[0] == 2) {
		/* HTTP/2: the trace headers newWriterAndRequest saw (h2.bpf.h). */
		if (h2_headers(sc, url))
			propagate_server_kernel(cfg, sc);
		else
			propagate_server(cfg, e, 0, 0);
	} else {
		/* HTTP/1: rw is a *response; its conn's bufio.Reader still holds
		 * the header block just parsed, ending at r. */
		__u64 bufr;
		if (own && own->conn_goid == goid) {
			bufr = own->bufr;
		} else {
			__u64 conn = read_u64(field(rw, cfg->resp_conn));
			bufr = read_u64(field(conn, cfg->conn_bufr));
			if (own && bufr) {
				own->bufr = bufr;
				own->peer_ptr = 0;
				own->pat_ptr = 0;
				own->conn_goid = goid;
			}
		}
		__u64 buf = 0, r = 0;
		if (bufr) {
			read_two(bufr, cfg->bufio_buf, cfg->bufio_r, &buf, &r);
			set_raw(sc, buf, r);
		}
		propagate_server(cfg, e, buf, r);
	}
	if (!request_line(sc, rq, ur, req, url, cfg)) {
		blk_str(sc, 0, rq, REQ_BLOCK, req, cfg->req_method);
		blk_str(sc, 1, ur, URL_BLOCK, url, cfg->url_path);
		blk_str(sc, 2, ur, URL_BLOCK, url, cfg->url_raw_query);
	}
	blk_str(sc, 3, rq, REQ_BLOCK, req, cfg->req_host);
	if (!own || own->conn_goid != goid || !peer_cached(sc, own, rq, req, cfg))
		blk_str(sc, 4, rq, REQ_BLOCK, req, cfg->req_remote_addr);
	submit(sc);
	return 0;
}

/* String 0, the pattern's text, from the slot when it is the pattern kept
 * there; else read, and kept when it fits. 0 when there is no pattern. */
static __always_inline int pattern_cached(struct scratch *sc, struct server_slot *own, __u64 pat, struct weft_config *cfg)
{
	if (!pat)
		return 0;
	struct weft_str *s = &sc->e.str[0];
	sc->used = (sc->used + 7) & ~7U; /* the copies below move u64s */
	if (own->pat_ptr == pat) {
		__u64 n = own->pat_len, off = sc->used;
		off &= DATA_MAX - 1;
		copy8(sc->data + off, own->pat, PAT_MAX);
		s->len = n;
		s->copied = n;
		s->off = off;
		sc->used = off + (n & (2 * PAT_MAX - 1));
		return 1;
	}
	read_str(sc, 0, field(pat, cfg->pattern_str));
	if (s->copied == s->len && s->len <= PAT_MAX) {
		copy8(own->pat, sc->data + (s->off & (DATA_MAX - 8)), PAT_MAX);
		own->pat_ptr = pat;
		own->pat_len = s->len;
	}
	return 1;
}

SEC("uprobe")
int http_server_end(struct pt_regs *ctx)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	__u64 goid = goid_of(cfg, GO_G(ctx));
	struct server_args args;
	struct server_slot *own;
	if (!server_call_take(goid, &args, &own))
		return 0;
	propagate_server_end(cfg, goid);
	struct scratch *sc = start_event_of(cfg, WEFT_HTTP_SERVER_END, goid);
	if (!sc) {
		server_slot_free(own, goid);
		return 0;
	}
	struct weft_event *e = &sc->e;
	if (args.proto_major == 2) {
		/* HTTP/2: rw is a *http2responseWriter; its state holds the status. */
		__u64 rws = read_u64(field(args.rw, cfg->h2_rw_rws));
		read_two(rws, cfg->h2_rws_status, cfg->h2_rws_wrote, &e->num[0], &e->num[1]);
	} else {
		read_two(args.rw, cfg->resp_status, cfg->resp_wrote_header, &e->num[0], &e->num[1]);
	}
	e->num[1] &= 0xff;
	__u64 pat = read_u64(field(args.req, cfg->req_pat));
	if (!own || own->conn_goid != goid || !pattern_cached(sc, own, pat, cfg))
		read_str(sc, 0, field(pat, cfg->pattern_str));
	server_slot_free(own, goid);
	submit(sc);
	return 0;
}

/* ---- net/http client ---- */

/* net/http.(*Transport).roundTrip(t, req *Request): RBX req. Every request
 * sent through an http.Transport passes here once: http.Client's, and those
 * a RoundTripper or httputil.ReverseProxy hands to a Transport directly. */
SEC("uprobe")
int http_client(struct pt_regs *ctx)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	__u64 req = GO_REG1(ctx);
	struct scratch *sc = start_event(cfg, ctx, WEFT_HTTP_CLIENT_START);
	if (!sc)
		return 0;
	struct weft_event *e = &sc->e;
	mark_ctx(e->hdr.goid);
	read_str(sc, 0, field(req, cfg->req_method));
	__u64 url = read_u64(field(req, cfg->req_url));
	read_str(sc, 1, field(url, cfg->url_scheme));
	read_str(sc, 2, field(url, cfg->url_host));
	read_str(sc, 3, field(url, cfg->url_path));
	read_str(sc, 4, field(url, cfg->url_raw_query));
	read_str(sc, 5, field(req, cfg->req_host));
	e->num[0] = read_u64(field(url, cfg->url_user)) != 0;
	propagate_client(cfg, e, url);
	submit(sc);
	return 0;
}

/* returns (*Response, error): RAX resp, RBX err's itab, RCX err's data */
SEC("uprobe")
int http_client_end(struct pt_regs *ctx)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	__u64 resp = GO_REG0(ctx);
	__u64 goid = goid_of(cfg, GO_G(ctx));
	propagate_client_end(cfg, goid);
	struct scratch *sc = start_event_of(cfg, WEFT_HTTP_CLIENT_END, goid);
	if (!sc)
		return 0;
	struct weft_event *e = &sc->e;
	if (resp) {
		e->num[0] = read_u64(field(resp, cfg->response_status_code));
		e->num[1] = read_u64(field(resp, cfg->response_proto_major));
		e->num[2] = read_u64(field(resp, cfg->response_proto_minor));
	}
	e->num[3] = GO_REG1(ctx);
	if (GO_REG1(ctx))
		err_snapshot(sc, GO_REG2(ctx));
	submit(sc);
	return 0;
}

/* ---- database/sql ---- */

/* database/sql.Open(driverName, dataSourceName string):
 * RAX,RBX driverName; RCX,RDI dataSourceName */
SEC("uprobe")
int sql_open(struct pt_regs *ctx)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	struct scratch *sc = start_event(cfg, ctx, WEFT_SQL_OPEN_START);
	if (!sc)
		return 0;
	set_raw(sc, GO_REG2(ctx), GO_REG3(ctx));
	set_str(sc, 0, GO_REG0(ctx), GO_REG1(ctx));
	submit(sc);
	return 0;
}

/* returns (*DB, error): RAX */
SEC("uprobe")
int sql_open_end(struct pt_regs *ctx)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	struct scratch *sc = start_event(cfg, ctx, WEFT_SQL_OPEN_END);
	if (!sc)
		return 0;
	sc->e.num[0] = GO_REG0(ctx);
	submit(sc);
	return 0;
}

static __always_inline int sql_start(struct pt_regs *ctx, __u64 db, __u64 qptr, __u64 qlen, __u64 what)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	struct scratch *sc = start_event(cfg, ctx, WEFT_SQL_START);
	if (!sc)
		return 0;
	__u64 goid = sc->e.hdr.goid;
	__u8 one = 1;
	bpf_map_update_elem(&sql_calls, &goid, &one, BPF_ANY);
	sc->e.num[0] = db;
	sc->e.num[1] = what;
	set_raw(sc, qptr, qlen);
	submit(sc);
	return 0;
}

/* (*DB).queryDC(ctx, txctx context.Context, dc *driverConn, release func(error), query string, args []any):
 * RAX db; RBX,RCX ctx; RDI,RSI txctx; R8 dc; R9 release; R10,R11 query */
SEC("uprobe")
int sql_query(struct pt_regs *ctx)
{
	return sql_start(ctx, GO_REG0(ctx), GO_REG7(ctx), GO_REG8(ctx), 1);
}

/* (*DB).execDC(ctx context.Context, dc *driverConn, release func(error), query string, args []any):
 * RAX db; RBX,RCX ctx; RDI dc; RSI release; R8,R9 query */
SEC("uprobe")
int sql_exec(struct pt_regs *ctx)
{
	return sql_start(ctx, GO_REG0(ctx), GO_REG5(ctx), GO_REG6(ctx), 2);
}

/* (*Stmt).QueryContext / ExecContext(ctx, args ...any): RAX s */
static __always_inline int sql_stmt(struct pt_regs *ctx, __u64 what)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	__u64 s = GO_REG0(ctx);
	__u64 h[2] = {};
	__u64 q = field(s, cfg->stmt_query);
	if (q)
		bpf_probe_read_user(h, sizeof(h), (void *)q);
	return sql_start(ctx, read_u64(field(s, cfg->stmt_db)), h[0], h[1], what);
}

SEC("uprobe")
int sql_stmt_query(struct pt_regs *ctx)
{
	return sql_stmt(ctx, 1);
}

SEC("uprobe")
int sql_stmt_exec(struct pt_regs *ctx)
{
	return sql_stmt(ctx, 2);
}

/* queryDC returns (*Rows, error): RBX err's itab, RCX its data.
 * execDC returns (Result, error): RCX err's itab, RDI its data. */
static __always_inline int sql_end(struct pt_regs *ctx, __u64 err_itab, __u64 err_data)
{
	struct weft_config *cfg = cfg_for_me(ctx);
	if (!cfg)
		return 0;
	__u64 goid = goid_of(cfg, GO_G(ctx));
	if (!bpf_map_lookup_elem(&sql_calls, &goid))
		return 0;
	bpf_map_delete_elem(&sql_calls, &goid);
	struct scratch *sc = start_event_of(cfg, WEFT_SQL_END, goid);
	if (!sc)
		return 0;
	sc->e.num[3] = err_itab;
	if (err_itab)
		err_snapshot(sc, err_data);
	submit(sc);
	return 0;
}

SEC("uprobe")
int sql_query_end(struct pt_regs *ctx)
{
	return sql_end(ctx, GO_REG1(ctx), GO_REG2(ctx));
}

SEC("uprobe")
int sql_exec_end(struct pt_regs *ctx)
{
	return sql_end(ctx, GO_REG2(ctx), GO_REG3(ctx));
}
