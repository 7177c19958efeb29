// No client span for httputil.DumpRequestOut: woven into package httputil.
// It writes a request through a Transport whose connection only records
// the bytes; nothing is sent, so weft makes no span and injects no
// traceparent (the dump shows the request as the program built it). The
// request's context is marked untraced for the call, in place (the dump
// changes the request's Body in place too), and restored after.

package httputil

import (
	"context"
	"net/http"
)

type weftDumpOut struct {
	r   *http.Request
	old context.Context
}

func weftDumpOutBefore(req **http.Request, _ *bool) (st weftDumpOut, ok bool) {
	defer func() { _ = recover() }()
	r := *req
	if r == nil || !weftEnabled() {
		return st, false
	}
	st = weftDumpOut{r: r, old: r.Context()}
	*r = *r.WithContext(weftSuppress(st.old))
	return st, true
}

func weftDumpOutAfter(st weftDumpOut, _ *[]byte, _ *error) {
	defer func() { _ = recover() }()
	*st.r = *st.r.WithContext(st.old)
}
