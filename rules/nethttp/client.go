// Client spans for net/http: woven into package net/http, around send,
// which every request of an http.Client passes (each redirect hop too),
// and around (*Transport).roundTrip, for requests that reach a Transport
// without an http.Client (httputil.ReverseProxy, libraries that call
// RoundTrip themselves). A request send traced carries weftSent, a field
// this rule adds to Request (copied with the request, so a RoundTripper's
// clone of it is known too): the Transport then adds no second span.
//
// The traced request is a copy carrying the span's context and the
// traceparent header (the caller's request and headers stay untouched:
// the same Request may be in flight on several goroutines). The copy
// remembers the caller's (weftOrig): the response names the caller's
// request again, and Transport.CancelRequest of the caller's request
// cancels the copy in flight.

package http

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// weftTelemetryExport recognizes a request of the OpenTelemetry Go SDK's
// own OTLP/HTTP exporters (traces, metrics, logs) by its User-Agent: a
// span for each of them would only trace the tracing.
func weftTelemetryExport(r *Request) bool {
	ua := r.Header.Get("User-Agent")
	return strings.HasPrefix(ua, "OTel OTLP Exporter Go/") || strings.HasPrefix(ua, "OTel Go OTLP ")
}

type weftClientState struct {
	span       unsafe.Pointer
	orig, copy *Request
}

func weftClientBefore(ireq **Request, _ *RoundTripper, _ *time.Time) (weftClientState, bool) {
	defer func() { _ = recover() }()
	return weftClientStart(ireq)
}

func weftTransportBefore(_ **Transport, req **Request) (weftClientState, bool) {
	defer func() { _ = recover() }()
	if r := *req; r == nil || r.weftSent {
		return weftClientState{}, false
	}
	return weftClientStart(req)
}

// weftClientStart starts the client span of *ireq and replaces it with a
// copy carrying the span's context and headers.
func weftClientStart(ireq **Request) (st weftClientState, ok bool) {
	r := *ireq
	if r == nil || r.URL == nil || !weftEnabled() || weftTelemetryExport(r) {
		return st, false
	}
	method, original := weftMethod(r.Method)
	parent := r.Context()
	ctx, span := weftStartSpan(parent, "weft/net/http", method, 3)
	if ctx == nil || (span == nil && weftSameContext(ctx, parent)) {
		return st, false // tracing off, or the exporter's own request
	}
	// Inject into a copy: the caller's request and headers stay untouched.
	r2 := r.WithContext(ctx)
	r2.Header = r.Header.Clone()
	if r2.Header == nil {
		r2.Header = make(Header)
	}
	weftInject(ctx, r2.Header)
	r2.weftSent = true
	if r.weftOrig == nil {
		r2.weftOrig = r
	}
	*ireq = r2
	st = weftClientState{span: span, orig: r, copy: r2}
	if span == nil {
		return st, true // (the response still names the caller's request)
	}
	// The host dialled: the URL's (semconv), not a Host header set apart
	// from it (a ReverseProxy keeps its caller's).
	host := r.URL.Host
	if host == "" {
		host = r.Host
	}
	addr, port := weftHostPort(host, r.URL.Scheme)
	// One call for the strings (weftSetStrings keeps kv on this stack).
	kv := [...]string{"http.request.method", method, "url.full", weftRedactURL(r.URL), "server.address", addr, "http.request.method_original", original}
	n := len(kv)
	if original == "" {
		n -= 2
	}
	weftSetStrings(span, kv[:n])
	weftSetInt(span, "server.port", port)
	return st, true
}

func weftClientAfter(st weftClientState, resp **Response, _ *func() bool, err *error) {
	defer func() { _ = recover() }()
	weftClientEnd(st, *resp, *err)
}

func weftTransportAfter(st weftClientState, resp **Response, err *error) {
	defer func() { _ = recover() }()
	weftClientEnd(st, *resp, *err)
}

func weftClientEnd(st weftClientState, resp *Response, err error) {
	if resp != nil && resp.Request == st.copy {
		resp.Request = st.orig // as without weft: the request the caller sent
	}
	if st.span == nil {
		return
	}
	defer weftEnd(st.span)
	if err != nil {
		t := fmt.Sprintf("%T", err)
		if ue, ok := err.(*url.Error); ok && ue.Timeout() {
			t = "timeout"
		}
		weftSetError(st.span, t, err.Error())
		return
	}
	if resp != nil {
		weftSetInt(st.span, "http.response.status_code", int64(resp.StatusCode))
		weftSetString(st.span, "network.protocol.version", weftProtoVersion(resp.ProtoMajor, resp.ProtoMinor))
		if resp.StatusCode >= 400 {
			weftSetError(st.span, strconv.Itoa(resp.StatusCode), "")
		}
	}
}

// weftRedactURL drops credentials and query values (semconv url.full).
func weftRedactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.UserPassword("REDACTED", "REDACTED")
	}
	if c.RawQuery != "" {
		c.RawQuery = weftRedactQuery(c.RawQuery)
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// weftSameContext reports whether StartSpan handed back the parent unchanged
// (a suppressed context). Comparing contexts can panic for exotic types:
// then they are not the same.
func weftSameContext(a, b context.Context) (same bool) {
	defer func() { _ = recover() }()
	return a == b
}

// weftCancelBefore turns Transport.CancelRequest of a caller's request into
// one of the copy in flight for it (CancelRequest is deprecated, but still
// called: a Client's timeout on a RoundTripper without RoundTrip's ctx
// support, httputil's tests).
func weftCancelBefore(t **Transport, req **Request) (struct{}, bool) {
	defer func() { _ = recover() }()
	if *t != nil && *req != nil {
		if c := (*t).weftInFlightCopy(*req); c != nil {
			*req = c
		}
	}
	return struct{}{}, false
}

// weftInFlightCopy finds the request in flight that copies orig. The map's
// key is a *Request (Go 1.23+) or a struct holding one (cancelKey).
func (t *Transport) weftInFlightCopy(orig *Request) *Request {
	t.reqMu.Lock()
	defer t.reqMu.Unlock()
	it := reflect.ValueOf(t.reqCanceler).MapRange()
	for it.Next() {
		k := it.Key()
		if k.Kind() == reflect.Struct && k.NumField() > 0 {
			k = k.Field(0)
		}
		if k.Kind() != reflect.Pointer || k.IsNil() {
			continue
		}
		if r := (*Request)(k.UnsafePointer()); r != orig && r.weftOrig == orig {
			return r
		}
	}
	return nil
}
