// Log correlation for zerolog: woven into package zerolog, around
// (*Event).msg, where Msg, Msgf, MsgFunc and Send write an enabled event.
// The ids are those of the goroutine's current span; they come before the
// message field.

package zerolog

func weftMsgBefore(e **Event, _ *string) (struct{}, bool) {
	defer func() { _ = recover() }()
	ev := *e
	if ev == nil {
		return struct{}{}, false
	}
	if tid, sid := weftTraceIDs(nil); tid != "" {
		if weftHasKey(ev.buf, "trace_id") || weftHasKey(ev.buf, "span_id") {
			return struct{}{}, false // the program's own (its context's, or this event's)
		}
		ev.Str("trace_id", tid).Str("span_id", sid)
	}
	return struct{}{}, false
}

// weftHasKey reports whether JSON buf has a field key: `"key":`, as
// zerolog writes one. (Not found in the CBOR encoding: ids are added.)
func weftHasKey(buf []byte, key string) bool {
	n := len(key) + 3
	for i := 0; i+n <= len(buf); i++ {
		if buf[i] == '"' && buf[i+n-2] == '"' && buf[i+n-1] == ':' && string(buf[i+1:i+n-2]) == key {
			return true
		}
	}
	return false
}
