/* A snapshot of a returned Go error, for its message. Included by
 * weft.bpf.c after its helpers.
 *
 * The probes cannot call Error(), and do not know the error's dynamic type
 * (Rust names it from the itab). So they copy, type-blind, the memory the
 * messages of the common types live in, and Rust formats what it
 * recognises (spans/errmsg.rs); reads that fail leave zeros. With data the
 * error's data pointer:
 *
 *   str[0..2]   Go strings at data+0, +8, +16 (errors.errorString.s,
 *               fmt.wrapError.msg, http.httpError.err, mysql.MySQLError
 *               .Message, net.OpError.Op and .Net)
 *   raw[0:80]   the 80 bytes at data (mysql.MySQLError.Number/SQLState;
 *               net.OpError's Source, Addr and Err interfaces)
 *   raw[80:112] 32 bytes at the data of the interface at data+64
 *               (OpError.Err: os.SyscallError), str[3] its string at +0
 *   raw[112:120] 8 bytes at the data of the interface at that +16
 *               (SyscallError.Err: the syscall.Errno)
 *   raw[120:168] 48 bytes at the data of the interface at data+48
 *               (OpError.Addr: net.TCPAddr), raw[168:184] its IP bytes
 */

#define ERR_SNAP_LEN 184

static __always_inline __u64 iface_data(__u8 *raw, int off)
{
	__u64 v;
	__builtin_memcpy(&v, raw + off + 8, 8);
	return v;
}

static __always_inline void read_at(__u8 *dst, __u32 len, __u64 addr)
{
	if (addr)
		bpf_probe_read_user(dst, len, (void *)addr);
}

/* raw first, then the strings (the record's layout) */
static __always_inline void err_snapshot(struct scratch *sc, __u64 data)
{
	if (!data)
		return;
	__u8 *raw = sc->data;
	__builtin_memset(raw, 0, ERR_SNAP_LEN);
	read_at(raw, 80, data);
	__u64 inner = iface_data(raw, 64);
	read_at(raw + 80, 32, inner);
	read_at(raw + 112, 8, iface_data(raw + 80, 16));
	__u64 addr = iface_data(raw, 48);
	read_at(raw + 120, 48, addr);
	__u64 ip, iplen;
	__builtin_memcpy(&ip, raw + 120, 8);
	__builtin_memcpy(&iplen, raw + 128, 8);
	if (iplen == 4 || iplen == 16)
		read_at(raw + 168, iplen == 4 ? 4 : 16, ip);
	sc->e.raw_len = ERR_SNAP_LEN;
	sc->e.raw_copied = ERR_SNAP_LEN;
	sc->used = ERR_SNAP_LEN;
	read_str(sc, 0, data);
	read_str(sc, 1, data + 8);
	read_str(sc, 2, data + 16);
	if (inner)
		read_str(sc, 3, inner);
}
