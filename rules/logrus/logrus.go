// Log correlation for logrus: woven into package logrus, around
// (*Entry).write, which formats every logged entry. The entry there is
// the log call's own copy; its Data map may still be the caller's (before
// v1.9), so the fields go into a new map. Hooks fired before write do not
// see them.

package logrus

func weftWriteBefore(e **Entry) (struct{}, bool) {
	defer func() { _ = recover() }()
	entry := *e
	if entry == nil {
		return struct{}{}, false
	}
	tid, sid := weftTraceIDs(entry.Context)
	if tid == "" {
		return struct{}{}, false
	}
	// The program's own ids (WithField) stay, and get no second value.
	if _, own := entry.Data["trace_id"]; own {
		return struct{}{}, false
	}
	if _, own := entry.Data["span_id"]; own {
		return struct{}{}, false
	}
	data := make(Fields, len(entry.Data)+2)
	for k, v := range entry.Data {
		data[k] = v
	}
	data["trace_id"] = tid
	data["span_id"] = sid
	entry.Data = data
	return struct{}{}, false
}
