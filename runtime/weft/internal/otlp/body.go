package otlp

import (
	"errors"
	"io"
	"net"
	"slices"
	"sync"
)

// body is one export's request body, sent from its parts (the batch's
// buffers) without joining them. A transport may read a body after the
// request returned (net/http closes it asynchronously), while the
// processor reuses the batch once Export returns: end makes every reader
// of the body fail from then on, so no late read sees reused bytes.
type body struct {
	mu    sync.Mutex
	parts [][]byte
	size  int64
	ended bool
}

func newBody(parts [][]byte) *body {
	b := &body{parts: parts}
	for _, p := range parts {
		b.size += int64(len(p))
	}
	return b
}

// reader returns a reader of the whole body (http.Request.GetBody).
func (b *body) reader() (io.ReadCloser, error) {
	return &bodyReader{b: b, rest: net.Buffers(slices.Clone(b.parts))}, nil
}

// end stops every reader; call it before the parts are reused.
func (b *body) end() {
	b.mu.Lock()
	b.ended = true
	b.mu.Unlock()
}

type bodyReader struct {
	b    *body
	rest net.Buffers
}

var errEnded = errors.New("export ended")

func (r *bodyReader) Read(p []byte) (int, error) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if r.b.ended {
		return 0, errEnded
	}
	return r.rest.Read(p)
}

func (r *bodyReader) Close() error { return nil }
