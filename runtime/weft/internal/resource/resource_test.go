package resource

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"weft/internal/env"
	"weft/internal/trace"
)

func attrMap(attrs []trace.Attr) map[string]trace.Attr {
	m := map[string]trace.Attr{}
	for _, a := range attrs {
		m[a.Key] = a
	}
	return m
}

func TestDefaults(t *testing.T) {
	defer env.SetLookup(nil)()
	attrs := FromEnv()
	m := attrMap(attrs)
	exe, _ := os.Executable()
	name := filepath.Base(exe)
	want := map[string]string{
		"service.name":            "unknown_service:" + name,
		"telemetry.sdk.name":      "weft",
		"telemetry.sdk.language":  "go",
		"telemetry.sdk.version":   env.SDKVersion,
		"process.executable.name": name,
		"process.executable.path": exe,
		"process.runtime.name":    "go",
		"process.runtime.version": runtime.Version(),
		"os.type":                 runtime.GOOS,
	}
	for k, v := range want {
		if m[k].Str != v {
			t.Errorf("%s = %q, want %q", k, m[k].Str, v)
		}
	}
	if m["process.pid"].Int != int64(os.Getpid()) || m["process.pid"].Kind != trace.AttrInt {
		t.Errorf("process.pid = %+v", m["process.pid"])
	}
	if h, _ := os.Hostname(); m["host.name"].Str != h {
		t.Errorf("host.name = %q", m["host.name"].Str)
	}
	for i := 1; i < len(attrs); i++ {
		if attrs[i-1].Key >= attrs[i].Key {
			t.Fatal("not sorted")
		}
	}
}

func TestServiceNamePrecedence(t *testing.T) {
	restore := env.SetLookup(map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,deployment.environment.name=prod,team=a%2Cb%3Dc"})
	m := attrMap(FromEnv())
	restore()
	if m["service.name"].Str != "from-attrs" || m["deployment.environment.name"].Str != "prod" || m["team"].Str != "a,b=c" {
		t.Errorf("%+v", m)
	}
	restore = env.SetLookup(map[string]string{"OTEL_SERVICE_NAME": "svc", "OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,host.name=override"})
	attrs := FromEnv()
	restore()
	m = attrMap(attrs)
	if m["service.name"].Str != "svc" || m["host.name"].Str != "override" || ServiceName(attrs) != "svc" {
		t.Errorf("%+v", m)
	}
}

func TestMalformedAttributesDiscarded(t *testing.T) {
	var lines []string
	defer env.CaptureWarnings(func(l string) { lines = append(lines, l) })()
	restore := env.SetLookup(map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "good=1,bad%zz=x,=y,noequals,v=%GG"})
	m := attrMap(FromEnv())
	restore()
	if _, ok := m["good"]; ok {
		t.Error("a malformed OTEL_RESOURCE_ATTRIBUTES must be discarded entirely")
	}
	if !strings.HasPrefix(m["service.name"].Str, "unknown_service:") {
		t.Error(m["service.name"].Str)
	}
	if len(lines) != 1 {
		t.Errorf("warnings %q", lines)
	}
}
