package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"weft/internal/env"
	"weft/internal/protowire"
	"weft/internal/trace"
)

// Exporter posts batches to an OTLP/HTTP collector, or calls an OTLP/gRPC
// one's Export method (gRPC's framing over net/http's HTTP/2: one
// length-prefixed message each way, the status in the trailers). Its
// requests carry a suppressed context, so a woven net/http does not trace
// them, and use a transport of their own.
type Exporter struct {
	cfg      Config
	client   *http.Client
	resource []byte // encoded Resource message

	closing  atomic.Bool // the program is exiting: a dead collector is final
	warnOnce sync.Once   // one warning for a collector that refuses spans

	// Used only from the processor goroutine.
	hdr   []byte   // the request's wrappers and resource
	parts [][]byte // the request: pieces of hdr and the batch's spans
	gz    *gzip.Writer
	gzb   bytes.Buffer
	frame [5]byte // gRPC's message prefix: compressed flag, length
}

// New returns an exporter for cfg sending the given resource attributes.
func New(cfg Config, resource []trace.Attr) *Exporter {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       cfg.TLS,
	}
	if cfg.GRPC {
		grpcTransport(tr)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	return &Exporter{
		cfg:      cfg,
		client:   &http.Client{Transport: tr},
		resource: EncodeResource(resource),
	}
}

// Closing makes later failures to reach the collector final: at exit a
// collector that is down must not delay the program.
func (e *Exporter) Closing() { e.closing.Store(true) }

// Idle closes the connections to the collector that are idle: with
// nothing queued, the goroutines serving them are not kept alive.
func (e *Exporter) Idle() { e.client.CloseIdleConnections() }

// Error is an export failure, with a short reason for the exit summary.
type Error struct {
	Reason   string
	Rejected int64         // >0: only this many spans were refused (partial success)
	Retry    bool          // the same request may succeed later
	Wait     time.Duration // how long the collector asked to wait (0: not said)
}

func (e *Error) Error() string { return e.Reason }

// RetryAfter reports whether the export may be tried again, and after how
// long the collector asked (0: the caller's backoff decides).
func (e *Error) RetryAfter() (time.Duration, bool) { return e.Wait, e.Retry }

// Lost is the number of spans refused in a partial success, 0 otherwise.
func (e *Error) Lost() int64 { return e.Rejected }

// Export posts a batch once, within the exporter timeout (and ctx). A
// failure worth retrying (throttling, a gateway error, a collector that
// cannot be reached) says so through Error.RetryAfter: the caller waits
// and retries, so no goroutine of the exporter waits between attempts.
func (e *Exporter) Export(ctx context.Context, spans *Batch) error {
	if spans.Len() == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	ctx = trace.Suppress(ctx)

	e.hdr, e.parts = requestParts(e.hdr[:0], e.parts[:0], e.resource, spans)
	defer clear(e.parts) // keep no batch buffer
	parts := e.parts
	if e.cfg.Gzip {
		e.gzb.Reset()
		if e.gz == nil {
			e.gz = gzip.NewWriter(&e.gzb)
		} else {
			e.gz.Reset(&e.gzb)
		}
		for _, p := range parts {
			e.gz.Write(p)
		}
		e.gz.Close()
		parts = [][]byte{e.gzb.Bytes()}
	}
	if e.cfg.GRPC {
		size := 0
		for _, p := range parts {
			size += len(p)
		}
		e.frame[0] = 0
		if e.cfg.Gzip {
			e.frame[0] = 1
		}
		binary.BigEndian.PutUint32(e.frame[1:], uint32(size))
		parts = append([][]byte{e.frame[:]}, parts...)
	}
	body := newBody(parts)
	defer body.end() // the batch is reused once Export returns
	return e.post(ctx, body)
}

// post sends one request.
func (e *Exporter) post(ctx context.Context, body *body) error {
	req, rerr := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.Endpoint, nil)
	if rerr != nil {
		return &Error{Reason: "bad endpoint " + strconv.Quote(e.cfg.Endpoint)}
	}
	req.Body, _ = body.reader()
	req.GetBody = body.reader
	req.ContentLength = body.size
	for k, v := range e.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", "weft/"+env.SDKVersion)
	switch {
	case e.cfg.GRPC:
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("Te", "trailers")
		if e.cfg.Gzip {
			req.Header.Set("Grpc-Encoding", "gzip")
		}
	default:
		req.Header.Set("Content-Type", "application/x-protobuf")
		if e.cfg.Gzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
	}
	resp, derr := e.client.Do(req)
	if derr != nil {
		err := &Error{Reason: summarize(derr)}
		if permanent(derr) {
			e.warnOnce.Do(func() {
				env.Print("cannot export spans to " + e.cfg.Endpoint + ": " + err.Reason)
			})
			return err
		}
		// At exit, a collector that cannot be reached is not waited for;
		// a throttling one is, within the caller's deadline.
		err.Retry = !errors.Is(derr, context.Canceled) && !errors.Is(derr, context.DeadlineExceeded) && !e.closing.Load()
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 256<<10)) // keep-alive

	switch code := resp.StatusCode; {
	case e.cfg.GRPC && code == 200:
		return e.grpcStatus(resp, data)
	case code >= 200 && code < 300:
		if n, msg := partialSuccess(data); n > 0 {
			env.Warnf("collector rejected %d spans: %s", n, msg)
			return &Error{Reason: "collector rejected spans", Rejected: n}
		}
		return nil
	case code == 429 || code == 502 || code == 503 || code == 504:
		return &Error{Reason: statusText(code), Retry: true, Wait: retryAfter(resp.Header.Get("Retry-After"))}
	default:
		e.warnOnce.Do(func() {
			env.Print("collector at " + e.cfg.Endpoint + " refused spans: " + statusText(code) + bodyHint(data))
		})
		return &Error{Reason: statusText(code)}
	}
}

// permanent reports transport errors that retrying cannot fix: an
// untrusted or mismatched certificate, or a plain-HTTP server at an https
// endpoint.
func permanent(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) ||
		errors.As(err, &ci) || errors.As(err, &rh) || plainHTTP(err)
}

// plainHTTP recognizes net/http's error for an http server at an https
// URL (a bare errors.New, so only its text identifies it).
func plainHTTP(err error) bool {
	return strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

func statusText(code int) string {
	return "HTTP " + strconv.Itoa(code) + " " + http.StatusText(code)
}

func bodyHint(data []byte) string {
	s := strings.TrimSpace(string(data))
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }) >= 0 {
		return ""
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return ": " + strings.ReplaceAll(s, "\n", " ")
}

// retryAfter parses a Retry-After header (seconds or HTTP date), capped.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	if d <= 0 {
		return 0
	}
	return min(d, 30*time.Second)
}

// summarize turns a transport error into a short reason.
func summarize(err error) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &dns):
		return "cannot resolve " + dns.Name
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case permanent(err):
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) {
			err = cv.Err
		}
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) || plainHTTP(err) {
			return "TLS handshake failed (is the endpoint plain http?)"
		}
		return "TLS: " + err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	return err.Error()
}

// partialSuccess decodes ExportTraceServiceResponse.partial_success
// (field 1: {rejected_spans = 1 int64, error_message = 2 string}).
func partialSuccess(data []byte) (rejected int64, msg string) {
	r := protowire.Reader{B: data}
	for !r.Done() {
		f, wt := r.Tag()
		if f == 1 && wt == wireBytes {
			sub := protowire.Reader{B: r.Bytes()}
			for !sub.Done() {
				sf, swt := sub.Tag()
				switch {
				case sf == 1 && swt == wireVarint:
					rejected = int64(sub.Varint())
				case sf == 2 && swt == wireBytes:
					msg = string(sub.Bytes())
				default:
					sub.Skip(swt)
				}
			}
			continue
		}
		r.Skip(wt)
	}
	return rejected, msg
}
