// Package shopkit holds the plumbing both shop services share: environment
// configuration, waiting for MariaDB, one log line per request, and an HTTP
// server that shuts down gracefully on SIGINT/SIGTERM.
//
// This copy (bench/apps/shopotel) is examples/shop/internal/shopkit
// hand-instrumented with the official OpenTelemetry SDK for the benchmark:
// otelsql around database/sql, otelhttp around the server's handler, and
// the SDK set up from the OTEL_* environment (bench/internal/otelsetup).
package shopkit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"example.com/weft-bench/internal/otelsetup"
	"github.com/XSAM/otelsql"
	"github.com/go-sql-driver/mysql"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// DefaultDSN is the database both services use unless MYSQL_DSN is set.
const DefaultDSN = "weft:weft@tcp(127.0.0.1:3306)/weftshop"

// dbWait bounds how long OpenDB retries before giving up.
const dbWait = 10 * time.Second

// Env returns the environment variable key, or def when it is unset or empty.
func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Instrument installs the OpenTelemetry SDK; the returned function flushes it.
func Instrument() func() {
	shutdown, err := otelsetup.Setup(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "opentelemetry setup: %v\n", err)
		os.Exit(1)
	}
	return shutdown
}

// SetupLogging sends slog's default logger to stderr, tagged with the service.
func SetupLogging(service string) {
	h := slog.NewTextHandler(os.Stderr, nil)
	slog.SetDefault(slog.New(h).With("service", service))
}

// SignalContext is cancelled by the first SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// OpenDB opens the MariaDB database named by dsn and pings it until it
// answers, for at most 10 seconds (or until ctx is cancelled).
func OpenDB(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("MYSQL_DSN is not a valid DSN: %w", err)
	}
	db, err := otelsql.Open("mysql", dsn, otelsql.WithAttributes(semconv.DBSystemMySQL),
		// One span per query, as weft makes. The driver answers a query
		// with arguments by asking for a prepared statement, so the
		// statement's span is the query's: no conn-query (the skipped
		// attempt), rows, reset-session, prepare or connect spans.
		otelsql.WithSpanOptions(otelsql.SpanOptions{OmitRows: true, OmitConnQuery: true, OmitConnResetSession: true, OmitConnPrepare: true, OmitConnectorConnect: true}))
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(dbWait)
	for {
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = db.PingContext(pingCtx)
		cancel()
		if err == nil {
			return db, nil
		}
		if ctx.Err() != nil {
			db.Close()
			return nil, ctx.Err()
		}
		if time.Now().After(deadline) {
			db.Close()
			return nil, fmt.Errorf("MariaDB at %s (database %q, user %q) is not reachable after %s: %w\n"+
				"start one with tests/services/mariadb.sh start, then eval \"$(tests/services/mariadb.sh env)\"",
				cfg.Addr, cfg.DBName, cfg.User, dbWait, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Exec runs each statement in order (schema creation and seed rows).
func Exec(ctx context.Context, db *sql.DB, stmts ...string) error {
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// WriteJSON writes v as a JSON response with the given status code.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Error("writing response", "err", err)
	}
}

// Healthz answers 200 "ok".
func Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintln(w, "ok")
}

// Serve listens on addr and serves h until ctx is cancelled, then shuts the
// server down gracefully (in-flight requests get 10 seconds) and returns nil,
// so main can return normally.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: otelhttp.NewHandler(logRequests(h), "server", otelsetup.ServerSpanName), ReadHeaderTimeout: 10 * time.Second}
	slog.Info("listening", "addr", "http://"+ln.Addr().String())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	slog.Info("stopped")
	return nil
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logRequests logs one line per request to stderr.
func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		slog.InfoContext(r.Context(), "request",
			"method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}
