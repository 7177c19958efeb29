// Package early subscribes while packages initialize: its path sorts
// before weft/rt, so its init runs before weft/rt's (Go initializes
// packages in import-path order). The callback must still be traced.
package early

import (
	"log"
	"os"

	"github.com/nats-io/nats.go"
)

// Got receives what the early subscription's callback was given.
var Got = make(chan string, 16)

// Conn is the connection made at init (nil when the program has no
// arguments).
var Conn *nats.Conn

func init() {
	if len(os.Args) != 3 {
		return
	}
	nc, err := nats.Connect(os.Getenv("WEFT_TEST_NATS_URL"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := nc.Subscribe(os.Args[2]+".shop.early", func(m *nats.Msg) { Got <- string(m.Data) }); err != nil {
		log.Fatal(err)
	}
	Conn = nc
}
