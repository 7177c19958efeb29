// Command frontend is the storefront of the weft shop example.
//
//	GET /checkout/{id}  looks the product up in MariaDB, asks inventory for
//	                    its stock, records an order when it is in stock
//	GET /healthz        ok
//
// /checkout answers 404 for an unknown product and 502 when inventory fails
// (product 4 is unknown to inventory, so it always does).
//
// Configuration: FRONTEND_ADDR (default 127.0.0.1:8080), INVENTORY_URL
// (default http://127.0.0.1:8081) and MYSQL_DSN (default
// weft:weft@tcp(127.0.0.1:3306)/weftshop).
//
// Plain net/http and database/sql: build it with `weft go build` and one
// checkout becomes one trace across both services.
// This copy (bench/apps/shopotel) is hand-instrumented with the official
// OpenTelemetry SDK (otelhttp, otelsql) for the benchmark; see shopkit.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"example.com/weft-bench/apps/shopotel/shopkit"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

var schema = []string{
	`CREATE TABLE IF NOT EXISTS products (
		id    BIGINT PRIMARY KEY,
		name  VARCHAR(100) NOT NULL,
		price DECIMAL(10,2) NOT NULL
	)`,
	`INSERT IGNORE INTO products (id, name, price) VALUES
		(1, 'loom', 129.00), (2, 'linen thread', 4.50),
		(3, 'shuttle', 22.00), (4, 'bobbin', 3.00)`,
	`CREATE TABLE IF NOT EXISTS orders (
		id         BIGINT AUTO_INCREMENT PRIMARY KEY,
		product_id BIGINT NOT NULL,
		price      DECIMAL(10,2) NOT NULL,
		created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
	)`,
}

// client injects traceparent and records client spans.
var client = &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport)}

type server struct {
	db           *sql.DB
	inventoryURL string
}

type checkout struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Price    float64 `json:"price"`
	Quantity int     `json:"quantity"`
	Ordered  bool    `json:"ordered"`
	OrderID  int64   `json:"order_id,omitempty"`
}

func (s *server) checkout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		shopkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "id must be an integer"})
		return
	}

	c := checkout{ID: id}
	err = s.db.QueryRowContext(ctx,
		"SELECT name, price FROM products WHERE id = ?", id).Scan(&c.Name, &c.Price)
	if errors.Is(err, sql.ErrNoRows) {
		shopkit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "unknown product"})
		return
	}
	if err != nil {
		slog.ErrorContext(ctx, "product query", "err", err)
		shopkit.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "database error"})
		return
	}

	c.Quantity, err = s.stock(ctx, id)
	if err != nil {
		slog.ErrorContext(ctx, "inventory", "err", err)
		shopkit.WriteJSON(w, http.StatusBadGateway, map[string]string{"error": "inventory: " + err.Error()})
		return
	}

	if c.Quantity > 0 {
		res, err := s.db.ExecContext(ctx,
			"INSERT INTO orders (product_id, price) VALUES (?, ?)", id, c.Price)
		if err == nil {
			c.OrderID, err = res.LastInsertId()
		}
		if err != nil {
			slog.ErrorContext(ctx, "order insert", "err", err)
			shopkit.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "database error"})
			return
		}
		c.Ordered = true
	}
	shopkit.WriteJSON(w, http.StatusOK, c)
}

// stock asks the inventory service how many of product id are in stock.
func (s *server) stock(ctx context.Context, id int64) (int, error) {
	url := s.inventoryURL + "/stock/" + strconv.FormatInt(id, 10)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var body struct {
		Quantity int `json:"quantity"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	return body.Quantity, nil
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

	s := &server{db: db, inventoryURL: shopkit.Env("INVENTORY_URL", "http://127.0.0.1:8081")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /checkout/{id}", s.checkout)
	mux.HandleFunc("GET /healthz", shopkit.Healthz)
	return shopkit.Serve(ctx, shopkit.Env("FRONTEND_ADDR", "127.0.0.1:8080"), mux)
}

func main() {
	shopkit.SetupLogging("frontend")
	shutdown := shopkit.Instrument()
	err := run()
	shutdown()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "frontend: %v\n", err)
		os.Exit(1)
	}
}
