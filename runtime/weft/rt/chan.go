package rt

import "unsafe"

//go:linkname watchChan runtime.weftChanWatch
func watchChan(c unsafe.Pointer, send, recv func(unsafe.Pointer))

// WatchChan hooks the channel ch, whose elements must hold pointers (a
// chan *T): every send on it calls send with a pointer to the element
// about to be sent, on the sending goroutine (in a select, each element
// offered, before the select picks a case: it may not be sent);
// every receive calls recv with a pointer to the element received, or nil
// when the channel was closed or the value dropped, on the receiving
// goroutine (an unbuffered channel's hooks are removed when it is closed,
// so its receives after that call nothing). Either may be nil. The runtime must be woven
// (rules/goroutine); else nothing happens. Hooks run inside the channel
// operation: they must not block, nor use ch.
//
//go:linkname WatchChan
func WatchChan(ch interface{}, send, recv func(unsafe.Pointer)) {
	// An interface holding a channel holds the *hchan as its data word.
	c := (*[2]unsafe.Pointer)(unsafe.Pointer(&ch))[1]
	if c != nil {
		watchChan(c, send, recv)
	}
}
