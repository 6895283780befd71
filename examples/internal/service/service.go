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
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
// without it nothing changes. With -config-kv BUCKET/KEY instead of
// -config, the baseline is read from that JetStream key-value entry on the
// -nats bus and followed as -watch follows a file. It returns 2 for bad
// flags and 1 for any other failure.
func Run(ctx context.Context, name string, args []string, stderr io.Writer, serve Serve) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "baseline `file` (see examples/baseline.yaml)")
	configKV := fs.String("config-kv", "", "read the baseline from the key-value entry `BUCKET/KEY` on the -nats bus, and follow it (instead of -config)")
	allowWeaker := fs.Bool("config-kv-allow-weaker", false, "follow -config-kv updates that loosen verification too (without it they are refused; give it only where operators alone may write the bucket)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`")
	watch := fs.Bool("watch", false, "reload the baseline when its file changes or on SIGHUP")
	service := fs.String("service", os.Getenv("JWTGUARD_SERVICE"), "the `name` of this service in the baseline's services section (default $JWTGUARD_SERVICE)")
	var bus fleet.ConnFlags
	bus.Register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	bucket, key, kvOK := strings.Cut(*configKV, "/")
	var misuse string
	switch {
	case (*config == "") == (*configKV == "") || fs.NArg() > 0:
		misuse = "give -config or -config-kv"
	case *configKV != "" && (!kvOK || bucket == "" || key == ""):
		misuse = "-config-kv takes BUCKET/KEY"
	case *configKV != "" && *watch:
		misuse = "-watch follows a file; -config-kv follows its entry already"
	case *configKV != "" && bus.URL == "":
		misuse = "-config-kv needs -nats"
	case *allowWeaker && *configKV == "":
		misuse = "-config-kv-allow-weaker applies to -config-kv"
	}
	if misuse != "" {
		fmt.Fprintf(stderr, "%s: %s\nusage: %s (-config FILE [-watch] | -config-kv BUCKET/KEY -nats URL) [-service NAME] [-addr HOST:PORT] [-nats URL]\n",
			name, misuse, name)
		return 2
	}
	log := Logger(stderr, name)
	var (
		cfg   core.Config
		entry *fleet.BaselineEntry
		err   error
	)
	if *configKV != "" {
		var nc *nats.Conn
		if nc, entry, err = OpenEntry(ctx, bus, fleet.BaselineOptions{Bucket: bucket, Key: key, Service: *service, AllowWeaker: *allowWeaker, Logger: log}); err != nil {
			logRefused(log, slog.String("config_kv", *configKV), err)
			return 1
		}
		defer nc.Close()
		defer entry.Close()
		cfg = entry.Config()
	} else {
		cfg, err = core.LoadBaseline(*config)
		if err == nil {
			cfg, err = cfg.ForService(*service)
		}
		if err != nil {
			logRefused(log, slog.String("file", *config), err)
			return 1
		}
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
	if entry != nil {
		// Stopped before the verifier is closed: deferred calls run last
		// first.
		defer entry.Close()
		if err := entry.Follow(v); err != nil {
			log.Error("baseline entry not followed", slog.String("error", err.Error()))
			return 1
		}
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

// entryTimeout bounds the first read of a baseline entry at start.
const entryTimeout = 10 * time.Second

// OpenEntry reads the service's baseline from the key-value entry opts
// names on the bus that bus names, over a connection of its own that it returns
// with the entry: the service cannot start without its baseline, so an
// unreachable bus fails here, within entryTimeout, where Join's does not.
// Once connected, the connection reconnects for as long as the service
// runs, and the entry's watch with it.
func OpenEntry(ctx context.Context, bus fleet.ConnFlags, opts fleet.BaselineOptions) (*nats.Conn, *fleet.BaselineEntry, error) {
	bucket, key := opts.Bucket, opts.Key
	nopts, err := bus.Options()
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(bus.URL, append([]nats.Option{nats.Name("jwtguard baseline " + bucket + "/" + key),
		nats.Timeout(entryTimeout), nats.MaxReconnects(-1)}, nopts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("baseline in bucket %q key %q: connecting to %s: %w", bucket, key, bus.URL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, entryTimeout)
	defer cancel()
	entry, err := fleet.OpenBaseline(ctx, js, opts)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, entry, nil
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

// logRefused logs why the baseline from source (a file, an entry) was
// refused: one line per problem, each naming its key and line
// (ParseBaseline reports every problem at once).
func logRefused(log *slog.Logger, source slog.Attr, err error) {
	problems := core.ConfigErrors(err)
	if len(problems) == 0 {
		problems = []*core.ConfigError{{Key: "(file)", Msg: err.Error()}}
	}
	for _, p := range problems {
		log.Error("baseline refused", source, slog.String("key", p.Key),
			slog.Int("line", p.Line), slog.String("problem", p.Msg))
	}
}
