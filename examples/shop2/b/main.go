// Command b is service B of the shop2 example: echo v4, MariaDB, and Redis
// through go-redis.
//
//	GET /items/:id  {"id":1,"name":"lamp","views":3}: the item from
//	                MariaDB, its view count from Redis (both with the
//	                request's ctx); 404 for an unknown item
//
// Flags: -plain serves with net/http's ServeMux instead of echo.
// Environment (default): B_ADDR (127.0.0.1:8091), MYSQL_DSN, REDIS_ADDR
// (127.0.0.1:6379).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"example.com/weft-examples/shop2/internal/kit"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

var schema = []string{
	`CREATE TABLE IF NOT EXISTS shop2_items (
		id   BIGINT PRIMARY KEY,
		name VARCHAR(100) NOT NULL
	)`,
	`INSERT IGNORE INTO shop2_items (id, name) VALUES (1, 'lamp'), (2, 'chair')`,
}

type server struct {
	db  *sql.DB
	rdb *redis.Client
}

// item does the work of GET /items/{id} and returns the status and JSON body.
func (s *server) item(ctx context.Context, idText string) (int, any) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return http.StatusBadRequest, map[string]string{"error": "id must be an integer"}
	}
	var name string
	err = s.db.QueryRowContext(ctx, "SELECT name FROM shop2_items WHERE id = ?", id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return http.StatusNotFound, map[string]string{"error": "unknown item"}
	}
	if err != nil {
		slog.Error("item query", "err", err)
		return http.StatusInternalServerError, map[string]string{"error": "database error"}
	}
	views, err := s.rdb.Incr(ctx, "shop2:views:"+idText).Result()
	if err != nil {
		slog.Error("redis", "err", err)
		return http.StatusBadGateway, map[string]string{"error": "redis error"}
	}
	return http.StatusOK, map[string]any{"id": id, "name": name, "views": views}
}

func (s *server) echoHandler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/items/:id", func(c echo.Context) error {
		status, body := s.item(c.Request().Context(), c.Param("id"))
		return c.JSON(status, body)
	})
	return e
}

func (s *server) plainHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		status, body := s.item(r.Context(), r.PathValue("id"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
	})
	return mux
}

func run(plain bool) error {
	ctx, stop := kit.SignalContext()
	defer stop()
	db, err := kit.OpenDB(ctx, kit.Env("MYSQL_DSN", kit.DefaultDSN), schema...)
	if err != nil {
		return err
	}
	defer db.Close()
	rdb := redis.NewClient(&redis.Options{Addr: kit.Env("REDIS_ADDR", "127.0.0.1:6379")})
	defer rdb.Close()

	s := &server{db: db, rdb: rdb}
	h := s.echoHandler()
	if plain {
		h = s.plainHandler()
	}
	return kit.Serve(ctx, kit.Env("B_ADDR", "127.0.0.1:8091"), h)
}

func main() {
	plain := flag.Bool("plain", false, "serve with net/http's ServeMux instead of echo")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)).With("service", "b"))
	if err := run(*plain); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "b: %v\n", err)
		os.Exit(1)
	}
}
