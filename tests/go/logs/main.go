// A net/http server that logs with every logger weft correlates, for
// weft's end-to-end tests: once at start (outside any span), and in the
// handler of GET /log (inside the request's server span), where it then
// logs once more with ids of its own, which must stay alone. It builds
// against the oldest and the newest logrus, zap and zerolog weft supports.
//
//	logs ADDR
package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/rs/zerolog"
	"github.com/sirupsen/logrus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func main() {
	log.SetFlags(0)
	log.SetOutput(os.Stdout)
	noTime := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	text := slog.New(slog.NewTextHandler(os.Stdout, noTime))
	jsonl := slog.New(slog.NewJSONHandler(os.Stdout, noTime))
	lr := logrus.New()
	lr.SetOutput(os.Stdout)
	lr.SetFormatter(&logrus.JSONFormatter{DisableTimestamp: true})
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg", LevelKey: "level", EncodeLevel: zapcore.LowercaseLevelEncoder})
	zl := zap.New(zapcore.NewCore(enc, zapcore.AddSync(os.Stdout), zapcore.DebugLevel))
	zr := zerolog.New(os.Stdout)

	emit := func(ctx context.Context, where string) {
		log.Printf("std %s", where)
		slog.InfoContext(ctx, "slog-default "+where)
		text.InfoContext(ctx, "slog-text "+where, "k", 1)
		jsonl.LogAttrs(ctx, slog.LevelInfo, "slog-json "+where, slog.Int("k", 1))
		lr.WithField("k", 1).Info("logrus " + where)
		zl.Info("zap "+where, zap.Int("k", 1))
		zl.Sugar().Infow("zap-sugar "+where, "k", 1)
		zr.Info().Int("k", 1).Msg("zerolog " + where)
	}
	// Lines that carry a trace_id or span_id of the program's own (a call's
	// field, a With's, a logrus WithField): weft adds no second key.
	own := func(ctx context.Context) {
		slog.InfoContext(ctx, "slog-default own", "trace_id", "app")
		text.InfoContext(ctx, "slog-text own", slog.String("span_id", "app"))
		jsonl.LogAttrs(ctx, slog.LevelInfo, "slog-json own", slog.String("trace_id", "app"))
		lr.WithField("trace_id", "app").Info("logrus own")
		zl.Info("zap own", zap.String("trace_id", "app"))
		zl.With(zap.String("span_id", "app")).Info("zap-with own")
		zl.Sugar().Infow("zap-sugar own", "trace_id", "app")
		zr.Info().Str("span_id", "app").Msg("zerolog own")
		zw := zr.With().Str("trace_id", "app").Logger()
		zw.Info().Msg("zerolog-with own")
		// A log.Logger writing into memory (a log the program serves, or
		// compares) keeps its lines: ids go only to files.
		var buf bytes.Buffer
		log.New(&buf, "", 0).Print("std buffered")
		os.Stdout.Write(buf.Bytes())
	}
	emit(context.Background(), "outside")
	http.HandleFunc("/log", func(w http.ResponseWriter, r *http.Request) {
		emit(r.Context(), "inside")
		own(r.Context())
		fmt.Fprintln(w, "ok")
	})
	log.Fatal(http.ListenAndServe(os.Args[1], nil))
}
