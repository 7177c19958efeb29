// Command pgx serves requests that use PostgreSQL through pgx v5's own API
// (pgxpool, Tx, batches, CopyFrom) and through database/sql (pgx's stdlib
// driver), for weft's pgx tests. The pool's connections carry a tracer of
// the program's own, which must still be called: /calls reports its count.
//
//	GET /query     SELECT by id (Query, rows read), QueryRow, Exec (UPDATE)
//	GET /batch     a batch of two INSERTs, then one of an INSERT and a SELECT
//	GET /copy      CopyFrom of three rows into public.pgx_copy
//	GET /error     a query of a table that does not exist (SQLSTATE 42P01)
//	GET /tx        BEGIN, UPDATE, COMMIT
//	GET /stdlib    SELECT through database/sql with the "pgx" driver
//	GET /early     SELECT on a connection made during package initialization
//	GET /opendb    the same through a DB made by stdlib.OpenDB (no DSN: gorm's way)
//	GET /calls     how often the program's own tracer saw a query start
//
// Usage: pgx ADDR (POSTGRES_DSN names the database). Runs until killed.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"example.com/pgxfixture/early"
)

// counter is the program's own tracer: it counts query starts.
type counter struct{ n atomic.Int64 }

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: pgx ADDR")
	}
	ctx := context.Background()
	dsn := os.Getenv("POSTGRES_DSN")
	cfg, err := pgxpool.ParseConfig(dsn)
	must(err)
	own := &counter{}
	cfg.ConnConfig.Tracer = own
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	must(err)
	defer pool.Close()
	db, err := sql.Open("pgx", dsn)
	must(err)
	connCfg, err := pgx.ParseConfig(dsn)
	must(err)
	odb := stdlib.OpenDB(*connCfg)

	for _, q := range []string{
		"DROP TABLE IF EXISTS pgx_items, pgx_copy",
		"CREATE TABLE pgx_items (id int PRIMARY KEY, name text, stock int)",
		"CREATE TABLE pgx_copy (id int, name text)",
		"INSERT INTO pgx_items VALUES (1, 'lamp', 5), (2, 'desk', 0)",
	} {
		_, err := pool.Exec(ctx, q)
		must(err)
	}
	setup := own.n.Load()

	fail := func(w http.ResponseWriter, err error) { http.Error(w, err.Error(), 500) }
	http.HandleFunc("/query", func(w http.ResponseWriter, r *http.Request) {
		rows, err := pool.Query(r.Context(), "SELECT name FROM pgx_items WHERE id = $1", 1)
		if err != nil {
			fail(w, err)
			return
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			fail(w, err)
			return
		}
		var stock int
		if err := pool.QueryRow(r.Context(), "SELECT stock FROM pgx_items WHERE name = 'lamp'").Scan(&stock); err != nil {
			fail(w, err)
			return
		}
		if _, err := pool.Exec(r.Context(), "UPDATE pgx_items SET stock = stock + 1 WHERE id = $1", 2); err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintf(w, "%v %d", names, stock)
	})
	http.HandleFunc("/batch", func(w http.ResponseWriter, r *http.Request) {
		b := &pgx.Batch{}
		b.Queue("INSERT INTO pgx_copy VALUES ($1, $2)", 10, "a")
		b.Queue("INSERT INTO pgx_copy VALUES ($1, $2)", 11, "b")
		if err := pool.SendBatch(r.Context(), b).Close(); err != nil {
			fail(w, err)
			return
		}
		b = &pgx.Batch{}
		b.Queue("INSERT INTO pgx_copy VALUES (12, 'c')")
		b.Queue("SELECT count(*) FROM pgx_copy")
		if err := pool.SendBatch(r.Context(), b).Close(); err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, "batched")
	})
	http.HandleFunc("/copy", func(w http.ResponseWriter, r *http.Request) {
		n, err := pool.CopyFrom(r.Context(), pgx.Identifier{"public", "pgx_copy"}, []string{"id", "name"},
			pgx.CopyFromRows([][]any{{1, "x"}, {2, "y"}, {3, "z"}}))
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintf(w, "copied %d", n)
	})
	http.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) {
		_, err := pool.Exec(r.Context(), "SELECT * FROM pgx_missing")
		fmt.Fprintf(w, "error: %v", err)
	})
	http.HandleFunc("/tx", func(w http.ResponseWriter, r *http.Request) {
		err := pgx.BeginFunc(r.Context(), pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(r.Context(), "UPDATE pgx_items SET stock = 0 WHERE id = 1")
			return err
		})
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, "committed")
	})
	http.HandleFunc("/stdlib", func(w http.ResponseWriter, r *http.Request) {
		var name string
		if err := db.QueryRowContext(r.Context(), "SELECT name FROM pgx_items WHERE id = $1", 2).Scan(&name); err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, name)
	})
	http.HandleFunc("/opendb", func(w http.ResponseWriter, r *http.Request) {
		var name string
		if err := odb.QueryRowContext(r.Context(), "SELECT name FROM pgx_items WHERE id = $1", 1).Scan(&name); err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, name)
	})
	// A connection made while package early initialized.
	http.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		if early.Err != nil {
			fail(w, early.Err)
			return
		}
		var n int
		if err := early.Conn.QueryRow(r.Context(), "SELECT count(*) FROM pgx_items").Scan(&n); err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, n)
	})
	http.HandleFunc("/calls", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, own.n.Load()-setup)
	})
	log.Fatal(http.ListenAndServe(os.Args[1], nil))
}
