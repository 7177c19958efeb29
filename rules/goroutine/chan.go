// Channel hooks, woven into package runtime with the goroutine slot. A
// message library that hands messages over a channel (rules/sarama) asks
// weft/rt to watch that channel: then every send on it calls the hook's
// send with a pointer to the element about to be sent, on the sending
// goroutine, and every receive calls recv with a pointer to the element
// received (nil for a closed channel, or a receive that drops the value),
// on the receiving goroutine. So a producer span can start under the
// sender's context, and a consumer span become the receiver's context.
// Unwatched channels pay a nil check. In a select, a send hook sees the
// element offered before the case is picked.

package runtime

import "unsafe"

type weftChanHook struct {
	send   func(unsafe.Pointer)
	recv   func(unsafe.Pointer)
	pinned bool // in weftPinned, until the channel is closed
}

// weftPinned holds the hooks of unbuffered channels: makechan allocates
// their hchan without pointer bits, so the collector does not see the
// hook through it. Each stays here until its channel is closed, when it is
// taken off the channel (receives from a closed unbuffered channel then
// call no hook).
var weftPinned struct {
	lock  mutex
	hooks []*weftChanHook
}

// weftChanWatch sets c's hook. Only channels whose elements hold pointers
// (a pointer-free element's hchan is not scanned either, and a hook is
// given a pointer into the element).
//
//go:linkname weftChanWatch
func weftChanWatch(c unsafe.Pointer, send, recv func(unsafe.Pointer)) {
	ch := (*hchan)(c)
	if ch == nil || ch.elemtype == nil || ch.elemtype.PtrBytes == 0 {
		return
	}
	h := &weftChanHook{send: send, recv: recv}
	if ch.dataqsiz == 0 {
		h.pinned = true
		lock(&weftPinned.lock)
		weftPinned.hooks = append(weftPinned.hooks, h)
		unlock(&weftPinned.lock)
	}
	// Published with a barrier (and the write barrier); read plainly: the
	// reader's loads of the hook's fields depend on the pointer it read.
	// A goroutine that read it keeps it alive from its stack.
	atomicstorep(unsafe.Pointer(&ch.weftHook), unsafe.Pointer(h))
}

// weftClosechanBefore takes a pinned hook off its channel and unpins it.
func weftClosechanBefore(c **hchan) (_ struct{}, ok bool) {
	h := weftHookOf(*c)
	if h == nil || !h.pinned {
		return
	}
	atomicstorep(unsafe.Pointer(&(*c).weftHook), nil)
	lock(&weftPinned.lock)
	hooks := weftPinned.hooks
	for i, p := range hooks {
		if p == h {
			last := len(hooks) - 1
			hooks[i], hooks[last] = hooks[last], nil
			weftPinned.hooks = hooks[:last]
			break
		}
	}
	unlock(&weftPinned.lock)
	return
}

func weftHookOf(c *hchan) *weftChanHook {
	if c == nil {
		return nil
	}
	return (*weftChanHook)(c.weftHook)
}

func weftChansendBefore(c **hchan, ep *unsafe.Pointer, _ *bool, _ *uintptr) (_ struct{}, ok bool) {
	if h := weftHookOf(*c); h != nil && h.send != nil && *ep != nil {
		h.send(*ep)
	}
	return
}

type weftRecvState struct {
	h  *weftChanHook
	ep unsafe.Pointer
}

func weftChanrecvBefore(c **hchan, ep *unsafe.Pointer, _ *bool) (weftRecvState, bool) {
	h := weftHookOf(*c)
	if h == nil || h.recv == nil {
		return weftRecvState{}, false
	}
	return weftRecvState{h, *ep}, true
}

func weftChanrecvAfter(st weftRecvState, selected, received *bool) {
	switch {
	case *received:
		st.h.recv(st.ep)
	case *selected: // closed
		st.h.recv(nil)
	}
}

type weftSelectState struct {
	cases  []scase
	nsends int
}

// A select's sends: each watched channel's send hook sees its element
// before the select picks a case (the one picked is known only after the
// hand-over), so a hook must allow for an element that is not sent this
// time (rules/sarama starts a message's span once, when first offered).
// A select's receive: the hook of the case chosen, after it.
func weftSelectgoBefore(cas0 **scase, _ **uint16, _ **uintptr, nsends, nrecvs *int, _ *bool) (weftSelectState, bool) {
	cases := unsafe.Slice(*cas0, *nsends+*nrecvs)
	for _, cs := range cases[:*nsends] {
		if h := weftHookOf(cs.c); h != nil && h.send != nil && cs.elem != nil {
			h.send(cs.elem)
		}
	}
	for _, cs := range cases[*nsends:] {
		if weftHookOf(cs.c) != nil {
			return weftSelectState{cases, *nsends}, true
		}
	}
	return weftSelectState{}, false
}

func weftSelectgoAfter(st weftSelectState, casi *int, recvOK *bool) {
	i := *casi
	if i < st.nsends || i >= len(st.cases) {
		return // a send, or the default
	}
	h := weftHookOf(st.cases[i].c)
	if h == nil || h.recv == nil {
		return
	}
	if *recvOK {
		h.recv(st.cases[i].elem)
	} else {
		h.recv(nil)
	}
}
