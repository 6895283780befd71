package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/jwtguard/jwtguard/cmd/jwtguard/serve"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/promjwt"
	"github.com/jwtguard/jwtguard/reload"
)

const serveUsage = `usage: jwtguard serve -config baseline.yaml -addr 127.0.0.1:PORT [-grpc-addr 127.0.0.1:PORT]
                      [-policy policy.yaml] [-service NAME] [-watch]
                      [-tls-cert cert.pem -tls-key key.pem] [-insecure-plaintext]
`

// shutdownGrace bounds how long in-flight verdicts may finish on exit.
const shutdownGrace = 5 * time.Second

// serveCmd runs the verdict server until ctx ends: forward-auth on -addr,
// Envoy ext_authz on -grpc-addr. Exit 2 for bad flags or I/O, 1 for a
// baseline or policy with problems (each named with its key and line).
func serveCmd(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage); fs.PrintDefaults() }
	config := fs.String("config", "", "baseline `file` (required)")
	addr := fs.String("addr", "", "forward-auth HTTP listen `address` (required)")
	grpcAddr := fs.String("grpc-addr", "", "Envoy ext_authz gRPC listen `address` (optional)")
	policyFile := fs.String("policy", "", "policy `file`: routes, scopes, anonymous routes, claim headers")
	service := serviceFlag(fs)
	watch := fs.Bool("watch", false, "reload the baseline when its file changes or on SIGHUP, and the policy file on SIGHUP")
	certFile := fs.String("tls-cert", "", "TLS certificate `file` (PEM) for both listeners")
	keyFile := fs.String("tls-key", "", "TLS private key `file` (PEM) for both listeners")
	insecure := fs.Bool("insecure-plaintext", false, "allow plain text on a non-loopback address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "jwtguard serve: "+format+"\n", a...)
		return code
	}
	switch {
	case fs.NArg() > 0:
		return fail(2, "unexpected argument %q\n%s", fs.Arg(0), serveUsage)
	case *config == "":
		return fail(2, "-config is required\n%s", serveUsage)
	case *addr == "":
		return fail(2, "-addr is required\n%s", serveUsage)
	case (*certFile == "") != (*keyFile == ""):
		return fail(2, "-tls-cert and -tls-key go together")
	}
	useTLS := *certFile != ""
	for _, a := range []struct{ flag, addr string }{{"-addr", *addr}, {"-grpc-addr", *grpcAddr}} {
		if a.addr == "" {
			continue
		}
		if err := plaintextAllowed(a.addr, useTLS, *insecure); err != nil {
			return fail(2, "%s %s: %v", a.flag, a.addr, err)
		}
	}
	var tlsConfig *tls.Config
	if useTLS {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fail(2, "TLS: %v", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	cfg, err := loadService(*config, *service)
	if err != nil {
		return fail(baselineExit(err), "%v", err)
	}
	var policy *serve.Policy
	if *policyFile != "" {
		if policy, err = serve.LoadPolicy(*policyFile); err != nil {
			var problem *serve.PolicyError
			if errors.As(err, &problem) {
				return fail(1, "%v", err)
			}
			return fail(2, "%v", err)
		}
	}

	// One JSON line per rejection, from core, on stderr.
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	reg := prometheus.NewRegistry()
	v, err := promjwt.NewVerifier(reg, cfg, core.WithLogger(logger))
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) || errors.Is(err, iofs.ErrPermission) {
			return fail(2, "%v", err)
		}
		return fail(1, "%v", err)
	}
	defer v.Close()
	if *watch {
		w, err := reload.Watch(v, *config, reload.WithLogger(logger))
		if err != nil {
			return fail(2, "-watch: %v", err)
		}
		defer w.Close()
	}
	srv, err := serve.New(v, policy, serve.WithLogger(logger),
		serve.WithMetrics(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	if err != nil {
		return fail(1, "%v", err)
	}
	if *watch && *policyFile != "" {
		stop := followPolicy(srv, *policyFile, logger)
		defer stop()
	}

	httpLn, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(2, "%v", err)
	}
	if tlsConfig != nil {
		c := tlsConfig.Clone()
		c.NextProtos = []string{"h2", "http/1.1"}
		httpLn = tls.NewListener(httpLn, c)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(httpLn) }()
	attrs := []any{slog.String("http", httpLn.Addr().String()), slog.Bool("tls", useTLS),
		slog.String("baseline_fingerprint", v.Config().Fingerprint())}

	var gs *grpc.Server
	if *grpcAddr != "" {
		grpcLn, err := net.Listen("tcp", *grpcAddr)
		if err != nil {
			hs.Close()
			return fail(2, "%v", err)
		}
		var opts []grpc.ServerOption
		if tlsConfig != nil {
			opts = append(opts, grpc.Creds(credentials.NewTLS(tlsConfig)))
		}
		gs = grpc.NewServer(opts...)
		srv.RegisterGRPC(gs)
		go func() { errc <- gs.Serve(grpcLn) }()
		attrs = append(attrs, slog.String("grpc", grpcLn.Addr().String()))
	}
	logger.Info("jwtguard serve listening", attrs...)

	code := 0
	select {
	case <-ctx.Done():
	case err := <-errc:
		logger.Error("jwtguard serve stopped", slog.String("error", err.Error()))
		code = 1
	}
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if gs != nil {
		stopped := make(chan struct{})
		go func() { gs.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-shutdown.Done():
			gs.Stop()
		}
	}
	if err := hs.Shutdown(shutdown); err != nil {
		hs.Close()
	}
	return code
}

// followPolicy reads the policy file again on every SIGHUP and puts it in
// force (Server.SetPolicy); a file that is refused leaves the policy in
// force, and says why with its key and line. The returned func stops it
// and waits for its goroutine.
func followPolicy(srv *serve.Server, file string, logger *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-hup:
				reloadPolicy(srv, file, logger)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		wg.Wait()
	}
}

// reloadPolicy is one reading of the policy file for followPolicy.
func reloadPolicy(srv *serve.Server, file string, logger *slog.Logger) {
	p, err := serve.LoadPolicy(file)
	if err == nil {
		err = srv.SetPolicy(p)
	}
	if err != nil {
		logger.Error("jwtguard serve policy reload refused; the policy in force stays",
			slog.String("file", file), slog.String("error", err.Error()))
		return
	}
	logger.Info("jwtguard serve policy reloaded", slog.String("file", file), slog.Int("routes", len(p.Routes)))
}

// plaintextAllowed is the TLS rule: plain text only on loopback, or when
// the operator writes -insecure-plaintext. Tokens and the identity headers
// cross this connection; on a network they must be encrypted (RFC 6750
// section 5.3: bearer tokens travel only over TLS).
func plaintextAllowed(addr string, useTLS, insecure bool) error {
	if useTLS || insecure {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" || net.ParseIP(host).IsLoopback() {
		return nil
	}
	return errors.New("refusing plain text on a non-loopback address: bearer tokens and the identity headers would cross the network unencrypted (RFC 6750 section 5.3); give -tls-cert and -tls-key, or -insecure-plaintext if the network itself is encrypted (a service mesh, a private link)")
}
