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
		ev.Str("trace_id", tid).Str("span_id", sid)
	}
	return struct{}{}, false
}
