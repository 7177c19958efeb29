// Package kit is the plumbing both shop2 services share: environment
// configuration, waiting for MariaDB, and an HTTP server that shuts down
// gracefully on SIGINT/SIGTERM (so main returns and the last spans are
// flushed). Plain Go: there is no OpenTelemetry import anywhere in shop2.
package kit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// DefaultDSN is the database both services use unless MYSQL_DSN is set.
const DefaultDSN = "weft:weft@tcp(127.0.0.1:3306)/weftshop"

// Env returns the environment variable key, or def when it is unset or empty.
func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// SignalContext is cancelled by the first SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// OpenDB opens MariaDB, waits up to 10 seconds for it to answer, and runs
// the schema statements.
func OpenDB(ctx context.Context, dsn string, schema ...string) (*sql.DB, error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err = db.PingContext(ctx); err == nil {
			break
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			db.Close()
			return nil, fmt.Errorf("MariaDB is not reachable (start it with tests/services/mariadb.sh start): %w", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	for _, s := range schema {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	return db, nil
}

// Serve serves h on addr until ctx is cancelled, then shuts down gracefully
// and returns nil.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	slog.Info("listening", "addr", "http://"+ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
