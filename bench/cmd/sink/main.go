// Command sink is the telemetry receiver the runtime benchmarks export to:
// it accepts and discards OTLP/HTTP trace exports (POST /v1/traces,
// protobuf, optionally gzip) and Datadog agent trace payloads (PUT/POST
// /v0.4/traces and /v0.5/traces, msgpack, for orchestrion), counting the
// spans in each so the report can show how many spans each variant really
// delivered. GET /stats answers {"requests":N,"spans":N,"bytes":N}.
//
//	sink -listen 127.0.0.1:0 -addr-file FILE
//
// `weft view` prints every trace, which is too slow to sit under load; this
// does nothing but count.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync/atomic"
)

var requests, spans, byteCount, bad atomic.Int64

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	addrFile := flag.String("addr-file", "", "write the address it listens on to this file")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", otlp)
	mux.HandleFunc("/v0.4/traces", datadog(false))
	mux.HandleFunc("/v0.5/traces", datadog(true))
	mux.HandleFunc("GET /info", http.NotFound) // Datadog tracers then use v0.4
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]int64{
			"requests": requests.Load(), "spans": spans.Load(), "bytes": byteCount.Load(), "bad": bad.Load(),
		})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { // metrics, logs, DD telemetry…
		io.Copy(io.Discard, r.Body)
		requests.Add(1)
		w.WriteHeader(http.StatusAccepted)
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Fatal(http.Serve(ln, mux))
}

func body(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	requests.Add(1)
	byteCount.Add(int64(len(b)))
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	}
	return b, nil
}

func otlp(w http.ResponseWriter, r *http.Request) {
	b, err := body(r)
	if err != nil {
		bad.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n, err := countOTLP(b)
	if err != nil {
		bad.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	spans.Add(int64(n))
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK) // an empty ExportTraceServiceResponse
}

func datadog(v05 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := body(r)
		if err == nil {
			var n int
			n, err = countMsgpack(b, v05)
			spans.Add(int64(n))
		}
		if err != nil {
			bad.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"rate_by_service":{}}`)
	}
}

// countOTLP counts the spans in an ExportTraceServiceRequest:
// resource_spans (1) → scope_spans (2) → spans (2).
func countOTLP(b []byte) (int, error) {
	n := 0
	err := fields(b, func(num int, v []byte) error {
		if num != 1 {
			return nil
		}
		return fields(v, func(num int, v []byte) error {
			if num != 2 {
				return nil
			}
			return fields(v, func(num int, _ []byte) error {
				if num == 2 {
					n++
				}
				return nil
			})
		})
	})
	return n, err
}

var errProto = errors.New("malformed protobuf")

// fields calls fn for each length-delimited field of a protobuf message and
// skips the others.
func fields(b []byte, fn func(num int, v []byte) error) error {
	for len(b) > 0 {
		key, k := uvarint(b)
		if k <= 0 {
			return errProto
		}
		b = b[k:]
		switch key & 7 {
		case 0:
			_, k = uvarint(b)
			if k <= 0 {
				return errProto
			}
			b = b[k:]
		case 1:
			if len(b) < 8 {
				return errProto
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return errProto
			}
			b = b[4:]
		case 2:
			l, k := uvarint(b)
			if k <= 0 || uint64(len(b)-k) < l {
				return errProto
			}
			if err := fn(int(key>>3), b[k:k+int(l)]); err != nil {
				return err
			}
			b = b[k+int(l):]
		default:
			return errProto
		}
	}
	return nil
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 10; i++ {
		x |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

// countMsgpack counts spans in a Datadog v0.4 payload (an array of traces,
// each an array of spans) or v0.5 ([strings, traces]).
func countMsgpack(b []byte, v05 bool) (int, error) {
	d := &mp{b: b}
	if v05 {
		if n := d.arrayLen(); n != 2 {
			return 0, fmt.Errorf("v0.5 payload is not a 2-array")
		}
		d.skip() // the string table
	}
	traces := d.arrayLen()
	n := 0
	for i := 0; i < traces && d.err == nil; i++ {
		s := d.arrayLen()
		n += s
		for j := 0; j < s && d.err == nil; j++ {
			d.skip()
		}
	}
	return n, d.err
}

type mp struct {
	b   []byte
	err error
}

func (d *mp) take(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b) {
		d.err = errors.New("malformed msgpack")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *mp) uint(n int) int {
	v := 0
	for _, c := range d.take(n) {
		v = v<<8 | int(c)
	}
	return v
}

func (d *mp) arrayLen() int {
	t := d.take(1)
	if t == nil {
		return 0
	}
	switch c := t[0]; {
	case c&0xf0 == 0x90:
		return int(c & 0x0f)
	case c == 0xdc:
		return d.uint(2)
	case c == 0xdd:
		return d.uint(4)
	}
	d.err = errors.New("msgpack: expected an array")
	return 0
}

// skip skips one value of any type.
func (d *mp) skip() {
	t := d.take(1)
	if t == nil {
		return
	}
	c := t[0]
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
	case c&0xe0 == 0xa0:
		d.take(int(c & 0x1f))
	case c&0xf0 == 0x90:
		for i := 0; i < int(c&0x0f); i++ {
			d.skip()
		}
	case c&0xf0 == 0x80:
		for i := 0; i < 2*int(c&0x0f); i++ {
			d.skip()
		}
	case c == 0xcc, c == 0xd0:
		d.take(1)
	case c == 0xcd, c == 0xd1:
		d.take(2)
	case c == 0xce, c == 0xd2, c == 0xca:
		d.take(4)
	case c == 0xcf, c == 0xd3, c == 0xcb:
		d.take(8)
	case c == 0xd9, c == 0xc4:
		d.take(d.uint(1))
	case c == 0xda, c == 0xc5:
		d.take(d.uint(2))
	case c == 0xdb, c == 0xc6:
		d.take(d.uint(4))
	case c == 0xdc, c == 0xdd:
		n := d.uint(2 + 2*int(c-0xdc))
		for i := 0; i < n && d.err == nil; i++ {
			d.skip()
		}
	case c == 0xde, c == 0xdf:
		n := d.uint(2 + 2*int(c-0xde))
		for i := 0; i < 2*n && d.err == nil; i++ {
			d.skip()
		}
	case c == 0xd4:
		d.take(2)
	case c == 0xd5:
		d.take(3)
	case c == 0xd6:
		d.take(5)
	case c == 0xd7:
		d.take(9)
	case c == 0xd8:
		d.take(17)
	case c == 0xc7:
		d.take(d.uint(1) + 1)
	case c == 0xc8:
		d.take(d.uint(2) + 1)
	case c == 0xc9:
		d.take(d.uint(4) + 1)
	default:
		d.err = fmt.Errorf("msgpack: unknown type byte %#x", c)
	}
}
