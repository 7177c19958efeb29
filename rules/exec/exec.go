// Trace context for child processes: woven into package os/exec, after
// (*Cmd).environ, which builds the environment Start gives the child (and
// Environ returns). Inside a span (the Cmd's ctx, else the goroutine's) it
// gets TRACEPARENT, and TRACESTATE when there is one, in place of any it
// inherited: OpenTelemetry's environment-variable carrier, which weft/rt
// reads when a woven child starts.

package exec

import (
	"runtime"
	"strings"
)

func weftEnvironBefore(c **Cmd) (*Cmd, bool) {
	defer func() { _ = recover() }()
	return *c, *c != nil && weftEnabled()
}

func weftEnvironAfter(c *Cmd, env *[]string, _ *error) {
	defer func() { _ = recover() }()
	h := map[string][]string{}
	if c.ctx != nil {
		weftInject(c.ctx, h)
	}
	if len(h["Traceparent"]) == 0 {
		if ctx := weftCurrent(); ctx != nil {
			weftInject(ctx, h)
		}
	}
	tp := h["Traceparent"]
	if len(tp) == 0 {
		return // no span: the child inherits what this process got
	}
	out := make([]string, 0, len(*env)+2)
	for _, kv := range *env {
		if k, _, _ := strings.Cut(kv, "="); !weftEnvName(k, "TRACEPARENT") && !weftEnvName(k, "TRACESTATE") {
			out = append(out, kv)
		}
	}
	out = append(out, "TRACEPARENT="+tp[0])
	if ts := h["Tracestate"]; len(ts) > 0 && ts[0] != "" {
		out = append(out, "TRACESTATE="+ts[0])
	}
	*env = out
}

// weftEnvName reports whether variable k is name: case-sensitive, except on
// Windows (a "traceparent" of the program's own is another variable).
func weftEnvName(k, name string) bool {
	return k == name || runtime.GOOS == "windows" && strings.EqualFold(k, name)
}
