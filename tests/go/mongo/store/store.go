// Package store talks to the MongoDB-protocol server through the MongoDB Go
// driver: v1 (v1.go) or, built with -tags mongov2, v2 (v2.go). Its Client
// has a command monitor of its own, which counts what it is told.
package store

import (
	"os"
	"sync/atomic"
)

// The counts of the program's own command monitor.
var Started, Succeeded, Failed atomic.Int64

// S is the database named on the command line (mongo ADDR MONGODB_URI DATABASE).
var S, Err = connect(os.Args[2], os.Args[3])
