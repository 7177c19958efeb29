// Added when the handshake rule cannot be woven: the hook still compiles,
// and handshake commands get spans.

package redis

type weftHandshakeKey struct{}
