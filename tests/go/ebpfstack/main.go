// Command ebpfstack runs two queries on each of GOROUTINES goroutines
// (default 500), each at a different stack depth, so that some calls of
// database/sql.(*Stmt).QueryContext have to grow the stack first: the
// function then runs its stack check twice. Under `weft run --ebpf` each
// query must still make exactly one span, a root (bpf/tests/ebpf_stack.rs).
// The driver is a stub in this file: no database is needed.
package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"os"
	"strconv"
	"sync"
)

type stub struct{}
type conn struct{}
type stmt struct{}
type rows struct{ done bool }

func (stub) Open(string) (driver.Conn, error)           { return conn{}, nil }
func (conn) Prepare(string) (driver.Stmt, error)        { return stmt{}, nil }
func (conn) Close() error                               { return nil }
func (conn) Begin() (driver.Tx, error)                  { return nil, io.EOF }
func (stmt) Close() error                               { return nil }
func (stmt) NumInput() int                              { return 0 }
func (stmt) Exec([]driver.Value) (driver.Result, error) { return driver.RowsAffected(0), nil }
func (stmt) Query([]driver.Value) (driver.Rows, error)  { return &rows{}, nil }
func (*rows) Columns() []string                         { return []string{"n"} }
func (*rows) Close() error                              { return nil }
func (r *rows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = int64(1)
	return nil
}

// deep recurses n frames of a few dozen bytes each, then calls f.
//
//go:noinline
func deep(n int, f func()) int {
	var pad [4]int
	pad[n%4] = n
	if n == 0 {
		f()
		return pad[0]
	}
	return deep(n-1, f) + pad[n%4]
}

func main() {
	sql.Register("stub", stub{})
	db, err := sql.Open("stub", "")
	if err != nil {
		panic(err)
	}
	st, err := db.Prepare("SELECT n FROM stub")
	if err != nil {
		panic(err)
	}
	n := 500
	if s := os.Getenv("GOROUTINES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	var wg sync.WaitGroup
	for d := 0; d < n; d++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deep(d%400, func() {
				// The second query finds the stack grown: had the first left a
				// span open (a probe hit twice), it would become its parent.
				for range 2 {
					rs, err := st.QueryContext(context.Background())
					if err != nil {
						panic(err)
					}
					rs.Close()
				}
			})
		}()
		wg.Wait()
	}
}
