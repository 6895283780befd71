// Package service is what the example services share: the flags, the JSON
// logger, the baseline and the verifier with its Prometheus metrics, the
// listener, and a clean stop on SIGINT or SIGTERM. Each example's main
// adds only its framework.
package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fleet"
	"github.com/jwtguard/jwtguard/promjwt"
	"github.com/jwtguard/jwtguard/reload"
)

// Serve runs a server on ln until ctx is done, then stops it. metrics
// serves the verifier's Prometheus metrics; the server mounts it at
// /metrics.
type Serve func(ctx context.Context, v *core.Verifier, metrics http.Handler, ln net.Listener) error

// Main runs serve as the service name and exits with Run's status.
func Main(name string, serve Serve) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, name, os.Args[1:], os.Stderr, serve)
	stop()
	os.Exit(code)
}

// Run parses -config FILE and -addr HOST:PORT from args, builds the
// verifier of the baseline file and serves on addr until ctx is done. Logs
// go to stderr as JSON lines. With -nats URL the service joins its fleet's
// bus (the fleet module): revocations, key set announcements, heartbeats;
// without it nothing changes. It returns 2 for bad flags and 1 for any
// other failure.
func Run(ctx context.Context, name string, args []string, stderr io.Writer, serve Serve) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "baseline `file` (see examples/baseline.yaml)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`")
	watch := fs.Bool("watch", false, "reload the baseline when its file changes or on SIGHUP")
	service := fs.String("service", os.Getenv("JWTGUARD_SERVICE"), "the `name` of this service in the baseline's services section (default $JWTGUARD_SERVICE)")
	var bus fleet.ConnFlags
	bus.Register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *config == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usage: %s -config FILE [-service NAME] [-watch] [-addr HOST:PORT] [-nats URL]\n", name)
		return 2
	}
	log := Logger(stderr, name)
	cfg, err := core.LoadBaseline(*config)
	if err == nil {
		cfg, err = cfg.ForService(*service)
	}
	if err != nil {
		logRefused(log, *config, err)
		return 1
	}
	opts := []core.Option{core.WithLogger(log)}
	var f *fleet.Fleet
	if bus.URL != "" {
		if f, err = Join(bus, *service, name, log); err != nil {
			log.Error("fleet not joined", slog.String("error", err.Error()))
			return 1
		}
		defer f.Close()
		opts = append(opts, core.WithRevocations(f), core.WithHooks(f))
	}
	v, metrics, err := NewVerifier(cfg, opts...)
	if err != nil {
		log.Error("verifier not started", slog.String("error", err.Error()))
		return 1
	}
	defer v.Close()
	if *watch {
		w, err := reload.Watch(v, *config, reload.WithLogger(log))
		if err != nil {
			log.Error("baseline not watched", slog.String("error", err.Error()))
			return 1
		}
		defer w.Close()
	}
	if f != nil {
		f.Attach(v)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("cannot listen", slog.String("error", err.Error()))
		return 1
	}
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.Bool("ready", v.Ready()))
	if err := serve(ctx, v, metrics, ln); err != nil {
		log.Error("server failed", slog.String("error", err.Error()))
		return 1
	}
	log.Info("stopped")
	return 0
}

// NewVerifier builds the verifier of cfg, with its Prometheus metrics on a
// registry of its own, and the handler of /metrics that serves them. A
// registry per verifier lets the demo run five services in one process.
func NewVerifier(cfg core.Config, opts ...core.Option) (*core.Verifier, http.Handler, error) {
	reg := prometheus.NewRegistry()
	v, err := promjwt.NewVerifier(reg, cfg, opts...)
	if err != nil {
		return nil, nil, err
	}
	return v, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}

// Join starts the membership of the bus that bus names, for the service
// (the binary's name when the baseline selects none). The bus being
// unreachable is not an error: the service starts and verifies without it.
func Join(bus fleet.ConnFlags, service, binary string, log *slog.Logger) (*fleet.Fleet, error) {
	nopts, err := bus.Options()
	if err != nil {
		return nil, err
	}
	if service == "" {
		service = binary
	}
	version := "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
	}
	return fleet.New(fleet.Options{URL: bus.URL, NATS: nopts, Service: service, Version: version, Logger: log})
}

// Logger writes JSON lines to w, each naming the service. The verifier
// logs every rejected request through it as one line with a reason key.
func Logger(w io.Writer, name string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil)).With(slog.String("service", name))
}

// shutdownTimeout bounds how long requests in flight may finish on stop.
const shutdownTimeout = 5 * time.Second

// ServeHTTP serves h on ln until ctx is done, then shuts down gracefully.
// It speaks HTTP/1 and unencrypted HTTP/2 (prior knowledge), which is how
// the gRPC example serves its calls and /metrics on one address.
func ServeHTTP(ctx context.Context, ln net.Listener, h http.Handler) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, Protocols: &protocols}
	return Until(ctx, func() error { return srv.Serve(ln) }, func(ctx context.Context) error {
		return srv.Shutdown(ctx)
	})
}

// Until runs serve until ctx is done, then stops it with shutdown, which
// gets shutdownTimeout. serve's error after a shutdown is not a failure.
func Until(ctx context.Context, serve func() error, shutdown func(context.Context) error) error {
	served := make(chan error, 1)
	go func() { served <- serve() }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := shutdown(sctx)
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// logRefused logs why a baseline was refused: one line per problem, each
// naming its key and line (ParseBaseline reports every problem at once).
func logRefused(log *slog.Logger, file string, err error) {
	problems := core.ConfigErrors(err)
	if len(problems) == 0 {
		problems = []*core.ConfigError{{Key: "(file)", Msg: err.Error()}}
	}
	for _, p := range problems {
		log.Error("baseline refused", slog.String("file", file), slog.String("key", p.Key),
			slog.Int("line", p.Line), slog.String("problem", p.Msg))
	}
}
