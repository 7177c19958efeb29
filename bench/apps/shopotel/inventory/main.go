// Command inventory is the stock service of the weft shop example.
//
//	GET /stock/{id}  {"id":1,"quantity":42}, or 404 for an unknown product
//	GET /healthz     ok
//
// Configuration: INVENTORY_ADDR (default 127.0.0.1:8081) and MYSQL_DSN
// (default weft:weft@tcp(127.0.0.1:3306)/weftshop).
//
// Plain net/http and database/sql: build it with `weft go build` and every
// request and query becomes a span, joined to the frontend's trace.
// This copy (bench/apps/shopotel) is hand-instrumented with the official
// OpenTelemetry SDK (otelhttp, otelsql) for the benchmark; see shopkit.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"example.com/weft-bench/apps/shopotel/shopkit"
)

var schema = []string{
	`CREATE TABLE IF NOT EXISTS stock (
		product_id BIGINT PRIMARY KEY,
		quantity   INT NOT NULL
	)`,
	// Product 2 is out of stock; product 4 is sold by the frontend but
	// unknown here, so its checkout fails with 502.
	`INSERT IGNORE INTO stock (product_id, quantity) VALUES (1, 42), (2, 0), (3, 7)`,
}

type server struct{ db *sql.DB }

func (s *server) stock(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		shopkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "id must be an integer"})
		return
	}
	var quantity int
	err = s.db.QueryRowContext(r.Context(),
		"SELECT quantity FROM stock WHERE product_id = ?", id).Scan(&quantity)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		shopkit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "unknown product"})
	case err != nil:
		slog.ErrorContext(r.Context(), "stock query", "err", err)
		shopkit.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "database error"})
	default:
		shopkit.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "quantity": quantity})
	}
}

func run() error {
	ctx, stop := shopkit.SignalContext()
	defer stop()

	db, err := shopkit.OpenDB(ctx, shopkit.Env("MYSQL_DSN", shopkit.DefaultDSN))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := shopkit.Exec(ctx, db, schema...); err != nil {
		return err
	}

	s := &server{db: db}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stock/{id}", s.stock)
	mux.HandleFunc("GET /healthz", shopkit.Healthz)
	return shopkit.Serve(ctx, shopkit.Env("INVENTORY_ADDR", "127.0.0.1:8081"), mux)
}

func main() {
	shopkit.SetupLogging("inventory")
	shutdown := shopkit.Instrument()
	err := run()
	shutdown()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "inventory: %v\n", err)
		os.Exit(1)
	}
}
