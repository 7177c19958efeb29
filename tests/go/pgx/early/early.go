// Package early connects to PostgreSQL while it initializes (a
// package-level var, as programs do), which may be before weft/rt is
// initialized: the connection must be traced all the same.
package early

import (
	"context"
	"os"

	"github.com/jackc/pgx/v5"
)

// Conn is a connection to POSTGRES_DSN, or nil and Err.
var Conn, Err = pgx.Connect(context.Background(), os.Getenv("POSTGRES_DSN"))
