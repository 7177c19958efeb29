package otlp

// reader is a minimal protobuf reader, enough for the collector's response
// (and for tests). On malformed input it stops (done reports true).
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) done() bool { return r.bad || len(r.b) == 0 }

func (r *reader) varint() uint64 {
	var v uint64
	for i := 0; i < 10; i++ {
		if len(r.b) == 0 {
			r.bad = true
			return 0
		}
		c := r.b[0]
		r.b = r.b[1:]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v
		}
	}
	r.bad = true
	return 0
}

func (r *reader) tag() (field, wire int) {
	t := r.varint()
	return int(t >> 3), int(t & 7)
}

func (r *reader) bytes() []byte {
	n := r.varint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) fixed(n int) uint64 {
	if len(r.b) < n {
		r.bad = true
		return 0
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(r.b[i])
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) skip(wire int) {
	switch wire {
	case wireVarint:
		r.varint()
	case wireFixed64:
		r.fixed(8)
	case wireBytes:
		r.bytes()
	case wireFixed32:
		r.fixed(4)
	default:
		r.bad = true
	}
}
