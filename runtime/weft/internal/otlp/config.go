package otlp

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"os"
	"strings"
	"time"

	"weft/internal/env"
)

// DefaultEndpoint is where spans go when nothing is configured.
const DefaultEndpoint = "http://localhost:4318/v1/traces"

// DefaultGRPCEndpoint is the collector's OTLP/gRPC address by default.
const DefaultGRPCEndpoint = "http://localhost:4317"

// grpcMethod is the path of the trace service's Export method.
const grpcMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// Config is the exporter configuration from OTEL_EXPORTER_OTLP_*.
type Config struct {
	Endpoint string            // full URL, path included
	Headers  map[string]string // extra request headers
	Timeout  time.Duration     // per batch, retries included
	Gzip     bool
	GRPC     bool        // OTLP/gRPC (HTTP/2) instead of OTLP/HTTP
	TLS      *tls.Config // nil: Go's defaults
}

// ConfigFromEnv reads the OTLP exporter environment; the _TRACES_
// variants win over the general ones.
func ConfigFromEnv() Config {
	c := Config{
		Endpoint: Endpoint(env.Lookup("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), env.Lookup("OTEL_EXPORTER_OTLP_ENDPOINT")),
		Headers:  map[string]string{},
		Timeout:  env.Millis(10*time.Second, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"),
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		v := env.Lookup(name)
		if v == "" {
			continue
		}
		kv, ok := env.ParseList(v)
		if !ok {
			env.Warnf("%s: malformed entries ignored (expected key=value,key2=value2)", name)
		}
		for _, p := range kv {
			c.Headers[p[0]] = p[1]
		}
	}
	switch comp := strings.ToLower(env.First("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION")); comp {
	case "gzip":
		c.Gzip = true
	case "", "none":
	default:
		env.Warnf("OTEL_EXPORTER_OTLP_COMPRESSION=%q is not supported (gzip or none); sending uncompressed", comp)
	}
	switch proto := strings.ToLower(env.First("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")); proto {
	case "", "http/protobuf":
	case "grpc":
		c.GRPC = true
		c.Endpoint = GRPCEndpoint(env.Lookup("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), env.Lookup("OTEL_EXPORTER_OTLP_ENDPOINT"))
		if strings.HasPrefix(c.Endpoint, "http://") && !h2c {
			env.Warnf("OTLP/gRPC to a plain-http endpoint (%s) needs a program built with Go 1.24 or newer: spans will not be delivered; use https, or OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", c.Endpoint)
		}
	default:
		env.Warnf("OTEL_EXPORTER_OTLP_PROTOCOL=%q is not supported (grpc or http/protobuf); using http/protobuf", proto)
	}
	c.TLS = tlsFromEnv()
	return c
}

// GRPCEndpoint resolves the URL of the trace service's Export method: the
// endpoint's scheme and host (the signal-specific one wins), any path
// replaced by the method's.
func GRPCEndpoint(traces, general string) string {
	e := cmp.Or(traces, general, DefaultGRPCEndpoint)
	u, err := url.Parse(withScheme(e))
	if err != nil || u.Host == "" {
		return e // Export reports it as a bad endpoint
	}
	return u.Scheme + "://" + u.Host + grpcMethod
}

// Endpoint resolves the traces URL: the signal-specific endpoint is used
// as is; the general one gets "/v1/traces" appended to its path.
func Endpoint(traces, general string) string {
	if traces != "" {
		return withScheme(traces)
	}
	if general == "" {
		return DefaultEndpoint
	}
	general = withScheme(general)
	if u, err := url.Parse(general); err == nil {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
		if u.RawPath != "" {
			u.RawPath = strings.TrimSuffix(u.RawPath, "/") + "/v1/traces"
		}
		return u.String()
	}
	return strings.TrimSuffix(general, "/") + "/v1/traces"
}

// withScheme accepts "host:port" for convenience, meaning http.
func withScheme(s string) string {
	if strings.Contains(s, "://") {
		return s
	}
	env.Warnf("OTLP endpoint %q has no scheme; using http://%s", s, s)
	return "http://" + s
}

// tlsFromEnv reads the certificate variables; nil when none is set.
func tlsFromEnv() *tls.Config {
	ca := env.First("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE")
	cert := env.First("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE")
	key := env.First("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY")
	if ca == "" && cert == "" && key == "" {
		return nil
	}
	cfg := &tls.Config{}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			env.Warnf("cannot use CA certificate %s for the OTLP exporter: %v", ca, errOr(err, "no PEM certificate found"))
		} else {
			cfg.RootCAs = pool
		}
	}
	if cert != "" || key != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			env.Warnf("cannot use client certificate for the OTLP exporter: %v", err)
		} else {
			cfg.Certificates = []tls.Certificate{pair}
		}
	}
	return cfg
}

func errOr(err error, s string) any {
	if err != nil {
		return err
	}
	return s
}
