// Package resource builds the OTel resource that describes the process:
// service.name, OTEL_RESOURCE_ATTRIBUTES, telemetry.sdk.*, process.* and
// host.name.
package resource

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"weft/internal/env"
	"weft/internal/trace"
)

// FromEnv returns the resource attributes, sorted by key for determinism.
// Precedence for service.name: OTEL_SERVICE_NAME, then service.name in
// OTEL_RESOURCE_ATTRIBUTES, then "unknown_service:<executable name>".
// Other OTEL_RESOURCE_ATTRIBUTES override the detected attributes.
func FromEnv() []trace.Attr {
	exePath, _ := os.Executable()
	exeName := filepath.Base(exePath)
	if exePath == "" && len(os.Args) > 0 {
		exeName = filepath.Base(os.Args[0])
	}
	exeName = strings.TrimSuffix(exeName, ".exe")
	host, _ := os.Hostname()

	attrs := map[string]trace.Attr{}
	str := func(k, v string) {
		if v != "" {
			attrs[k] = trace.Attr{Key: k, Str: v}
		}
	}
	str("service.name", "unknown_service:"+exeName)
	str("telemetry.sdk.name", "weft")
	str("telemetry.sdk.language", "go")
	str("telemetry.sdk.version", env.SDKVersion)
	attrs["process.pid"] = trace.Attr{Key: "process.pid", Int: int64(os.Getpid()), Kind: trace.AttrInt}
	str("process.executable.name", exeName)
	str("process.executable.path", exePath)
	str("process.runtime.name", "go")
	str("process.runtime.version", runtime.Version())
	str("process.runtime.description", "go version "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
	str("host.name", host)
	str("host.arch", hostArch())
	str("os.type", runtime.GOOS)

	if v := env.Lookup("OTEL_RESOURCE_ATTRIBUTES"); v != "" {
		kv, ok := env.ParseList(v)
		if !ok {
			// The spec says to discard the whole value on a decoding error.
			env.Warnf("OTEL_RESOURCE_ATTRIBUTES is malformed and is ignored (expected key=value,key2=value2 with %%-encoded values)")
		} else {
			for _, p := range kv {
				str(p[0], p[1])
			}
		}
	}
	str("service.name", env.Lookup("OTEL_SERVICE_NAME"))

	out := make([]trace.Attr, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sortAttrs(out)
	return out
}

// ServiceName returns service.name from attrs.
func ServiceName(attrs []trace.Attr) string {
	for _, a := range attrs {
		if a.Key == "service.name" {
			return a.Str
		}
	}
	return ""
}

func sortAttrs(a []trace.Attr) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].Key < a[j-1].Key; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// hostArch maps GOARCH to semconv host.arch values.
func hostArch() string {
	switch runtime.GOARCH {
	case "386":
		return "x86"
	case "arm":
		return "arm32"
	case "ppc64le":
		return "ppc64"
	}
	return runtime.GOARCH
}
