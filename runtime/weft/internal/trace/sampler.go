package trace

import (
	"strconv"
	"strings"

	"weft/internal/env"
)

// Sampler decides whether a new span is recorded and exported. Unsampled
// spans still get ids and propagate (trace-flags 00).
type Sampler struct {
	ParentBased bool
	root        rootDecision
	bound       uint64 // traceidratio: sample when low 63 bits of the id < bound
	desc        string
}

type rootDecision uint8

const (
	rootOn rootDecision = iota
	rootOff
	rootRatio
)

// AlwaysOn samples everything (also the default's root sampler).
func AlwaysOn() Sampler { return Sampler{root: rootOn, desc: "always_on"} }

// AlwaysOff samples nothing.
func AlwaysOff() Sampler { return Sampler{root: rootOff, desc: "always_off"} }

// Ratio samples a deterministic fraction of trace ids, the same way the
// OpenTelemetry Go SDK does (so services agree on the decision).
func Ratio(f float64) Sampler {
	switch {
	case !(f > 0): // also NaN
		return Sampler{root: rootOff, desc: "traceidratio{0}"}
	case f >= 1:
		return Sampler{root: rootOn, desc: "traceidratio{1}"}
	}
	return Sampler{root: rootRatio, bound: uint64(f * (1 << 63)),
		desc: "traceidratio{" + strconv.FormatFloat(f, 'g', -1, 64) + "}"}
}

// ParentBased follows a valid parent's sampled flag and applies s to roots.
func ParentBased(s Sampler) Sampler {
	s.ParentBased = true
	s.desc = "parentbased_" + s.desc
	return s
}

// String names the sampler like OTEL_TRACES_SAMPLER does.
func (s Sampler) String() string { return s.desc }

// ShouldSample returns the decision for a span with the given parent
// (nil or invalid for a root) and trace id.
func (s *Sampler) ShouldSample(parent *SpanContext, id TraceID) bool {
	if s.ParentBased && parent.IsValid() {
		return parent.Sampled()
	}
	switch s.root {
	case rootOn:
		return true
	case rootRatio:
		return getUint64(id[8:])>>1 < s.bound
	}
	return false
}

// SamplerFromEnv reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
// Unknown names warn once and fall back to parentbased_always_on.
func SamplerFromEnv() Sampler {
	name := strings.ToLower(env.Lookup("OTEL_TRACES_SAMPLER"))
	switch name {
	case "", "parentbased_always_on":
		return ParentBased(AlwaysOn())
	case "always_on":
		return AlwaysOn()
	case "always_off":
		return AlwaysOff()
	case "parentbased_always_off":
		return ParentBased(AlwaysOff())
	case "traceidratio":
		return Ratio(ratioArg())
	case "parentbased_traceidratio":
		return ParentBased(Ratio(ratioArg()))
	}
	env.Warnf("OTEL_TRACES_SAMPLER=%q is not supported; using parentbased_always_on", name)
	return ParentBased(AlwaysOn())
}

func ratioArg() float64 {
	arg := env.Lookup("OTEL_TRACES_SAMPLER_ARG")
	if arg == "" {
		return 1
	}
	f, err := strconv.ParseFloat(arg, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		env.Warnf("OTEL_TRACES_SAMPLER_ARG=%q is not a ratio in [0,1]; using 1", arg)
		return 1
	}
	return f
}
