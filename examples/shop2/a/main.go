// Command a is service A of the shop2 example: gin, MariaDB, Redis through
// redigo, and service B over HTTP.
//
//	GET /call-b  reads a customer from MariaDB (with the request's ctx),
//	             counts the call in Redis with redigo (no ctx), and fetches
//	             item 1 from service B with http.Get (no ctx)
//
// Flags: -plain serves with net/http's ServeMux instead of gin.
// Environment (default): A_ADDR (127.0.0.1:8090), B_URL
// (http://127.0.0.1:8091), MYSQL_DSN, REDIS_ADDR (127.0.0.1:6379).
//
// The code passes no context to redigo or http.Get: built with `weft go
// build`, those calls still join the request's trace.
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

	"example.com/weft-examples/shop2/internal/kit"
	"github.com/gin-gonic/gin"
	"github.com/gomodule/redigo/redis"
)

var schema = []string{
	`CREATE TABLE IF NOT EXISTS shop2_customers (
		id   BIGINT PRIMARY KEY,
		name VARCHAR(100) NOT NULL
	)`,
	`INSERT IGNORE INTO shop2_customers (id, name) VALUES (1, 'Ada'), (2, 'Grace')`,
}

type server struct {
	db   *sql.DB
	pool *redis.Pool
	bURL string
}

// callB does the work of GET /call-b and returns the status and JSON body.
func (s *server) callB(ctx context.Context) (int, any) {
	var name string
	err := s.db.QueryRowContext(ctx, "SELECT name FROM shop2_customers WHERE id = ?", 1).Scan(&name)
	if err != nil {
		slog.Error("customer query", "err", err)
		return http.StatusInternalServerError, map[string]string{"error": "database error"}
	}

	conn := s.pool.Get()
	calls, err := redis.Int(conn.Do("INCR", "shop2:calls"))
	conn.Close()
	if err != nil {
		slog.Error("redis", "err", err)
		return http.StatusBadGateway, map[string]string{"error": "redis error"}
	}

	resp, err := http.Get(s.bURL + "/items/1")
	if err != nil {
		slog.Error("calling b", "err", err)
		return http.StatusBadGateway, map[string]string{"error": "service b unreachable"}
	}
	defer resp.Body.Close()
	var item map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&item); err != nil || resp.StatusCode != http.StatusOK {
		slog.Error("calling b", "status", resp.StatusCode, "err", err)
		return http.StatusBadGateway, map[string]string{"error": "service b failed"}
	}
	slog.Info("called b", "customer", name, "calls", calls)
	return http.StatusOK, map[string]any{"customer": name, "calls": calls, "item": item}
}

func (s *server) ginHandler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	g := gin.New()
	g.GET("/call-b", func(c *gin.Context) {
		status, body := s.callB(c.Request.Context())
		c.JSON(status, body)
	})
	return g
}

func (s *server) plainHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /call-b", func(w http.ResponseWriter, r *http.Request) {
		status, body := s.callB(r.Context())
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
	redisAddr := kit.Env("REDIS_ADDR", "127.0.0.1:6379")
	pool := &redis.Pool{
		MaxIdle: 4,
		Dial:    func() (redis.Conn, error) { return redis.Dial("tcp", redisAddr) },
	}
	defer pool.Close()

	s := &server{db: db, pool: pool, bURL: kit.Env("B_URL", "http://127.0.0.1:8091")}
	h := s.ginHandler()
	if plain {
		h = s.plainHandler()
	}
	return kit.Serve(ctx, kit.Env("A_ADDR", "127.0.0.1:8090"), h)
}

func main() {
	plain := flag.Bool("plain", false, "serve with net/http's ServeMux instead of gin")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)).With("service", "a"))
	if err := run(*plain); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "a: %v\n", err)
		os.Exit(1)
	}
}
