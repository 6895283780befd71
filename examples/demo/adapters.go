package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/echoapp"
	"github.com/jwtguard/jwtguard/examples/internal/fiberapp"
	"github.com/jwtguard/jwtguard/examples/internal/ginapp"
	"github.com/jwtguard/jwtguard/examples/internal/grpcapp"
	"github.com/jwtguard/jwtguard/examples/internal/nethttpapp"
	"github.com/jwtguard/jwtguard/examples/internal/service"
)

// accepted is the verdict of a request that got through.
const accepted = "accepted"

// adapter is one example service, with its own verifier, on a loopback
// port.
type adapter struct {
	name     string
	grpc     bool // statuses are gRPC codes, not HTTP statuses
	verifier *core.Verifier
	log      *reasonLog
	// base is the service's URL for HTTP routes, /metrics among them; the
	// gRPC service serves them on the same address.
	base string
	// send makes one request for route ("/whoami" or "/admin") with token
	// and returns the status code it got: HTTP's, or gRPC's.
	send  func(ctx context.Context, route, token string) (int, error)
	stops []func()
}

// verdict sends one request and names what the service decided: accepted,
// or the reason its verifier logged. The log line is written before the
// answer is sent, and an adapter has one request in flight at a time, so
// the line read after the answer is this request's. The answer's status
// must be the one core's reason table gives that reason, or the verdict
// says how they differ.
func (a *adapter) verdict(ctx context.Context, route, token string) string {
	a.log.take()
	code, err := a.send(ctx, route, token)
	if err != nil {
		return "failed: " + err.Error()
	}
	reasons := a.log.take()
	want := http.StatusOK
	if a.grpc {
		want = 0 // OK
	}
	if len(reasons) == 1 {
		info := reasons[0].Info()
		if want = info.HTTPStatus; a.grpc {
			want = info.GRPCCode
		}
	}
	switch {
	case len(reasons) > 1:
		return fmt.Sprintf("%d rejection lines for one request: %v", len(reasons), reasons)
	case code != want:
		return fmt.Sprintf("status %d with logged reasons %v", code, reasons)
	case len(reasons) == 0:
		return accepted
	}
	return string(reasons[0])
}

func (a *adapter) close() {
	for i := len(a.stops) - 1; i >= 0; i-- {
		a.stops[i]()
	}
}

// fetches counts the JWKS fetches of the adapter's verifier.
func (a *adapter) fetches() uint64 {
	var n uint64
	for _, s := range a.verifier.Stats() {
		n += s.FetchOK + s.FetchFailed + s.FetchNotModified
	}
	return n
}

// startAdapters starts the five example services, each with its own
// verifier built from cfg and its own /metrics, on loopback ports.
func startAdapters(cfg core.Config, now func() time.Time) ([]*adapter, error) {
	starts := []struct {
		name  string
		grpc  bool
		serve func(v *core.Verifier, metrics http.Handler, ln net.Listener) (stop func())
	}{
		{"gin", false, func(v *core.Verifier, m http.Handler, ln net.Listener) func() { return serveHTTP(ln, ginapp.New(v, m)) }},
		{"echo", false, func(v *core.Verifier, m http.Handler, ln net.Listener) func() {
			return serveHTTP(ln, echoapp.New(v, m))
		}},
		{"fiber", false, func(v *core.Verifier, m http.Handler, ln net.Listener) func() {
			app := fiberapp.New(v, m)
			go app.Listener(ln)
			return func() { app.Shutdown() }
		}},
		{"net/http", false, func(v *core.Verifier, m http.Handler, ln net.Listener) func() {
			return serveHTTP(ln, nethttpapp.New(v, m))
		}},
		{"gRPC", true, func(v *core.Verifier, m http.Handler, ln net.Listener) func() {
			s := grpcapp.New(v)
			stop := serveHTTP(ln, grpcapp.Handler(s, v, m))
			return func() { stop(); s.Stop() }
		}},
	}
	var adapters []*adapter
	fail := func(err error) ([]*adapter, error) {
		for _, a := range adapters {
			a.close()
		}
		return nil, err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for _, s := range starts {
		a := &adapter{name: s.name, grpc: s.grpc, log: &reasonLog{}}
		v, metrics, err := service.NewVerifier(cfg, core.WithLogger(slog.New(a.log)), core.WithClock(now))
		if err != nil {
			return fail(err)
		}
		a.verifier = v
		a.stops = append(a.stops, v.Close)
		adapters = append(adapters, a)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		a.stops = append(a.stops, s.serve(v, metrics, ln))
		a.base = "http://" + ln.Addr().String()
		if !s.grpc {
			a.send = httpSender(client, a.base)
			continue
		}
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fail(err)
		}
		a.stops = append(a.stops, func() { conn.Close() })
		a.send = grpcSender(conn)
	}
	return adapters, nil
}

// serveHTTP serves h as the examples do: HTTP/1 and unencrypted HTTP/2,
// which carries the gRPC example's calls beside its /metrics.
func serveHTTP(ln net.Listener, h http.Handler) func() {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, Protocols: &protocols}
	go srv.Serve(ln)
	return func() { srv.Close() }
}

func httpSender(client *http.Client, base string) func(context.Context, string, string) (int, error) {
	return func(ctx context.Context, route, token string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+route, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body) // so the connection is reused
		resp.Body.Close()
		return resp.StatusCode, nil
	}
}

func grpcSender(conn *grpc.ClientConn) func(context.Context, string, string) (int, error) {
	methods := map[string]string{"/whoami": grpcapp.WhoamiMethod, "/admin": grpcapp.AdminMethod}
	return func(ctx context.Context, route, token string) (int, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		_, err := grpcapp.Call(ctx, conn, methods[route])
		st, ok := status.FromError(err)
		if !ok || ctx.Err() != nil {
			return 0, errors.Join(err, ctx.Err())
		}
		return int(st.Code()), nil
	}
}

// reasonLog is a verifier's log as the demo reads it: the reason of each
// rejection line. Other lines (key set changes) carry no reason.
type reasonLog struct {
	mu      sync.Mutex
	reasons []core.Reason
}

func (l *reasonLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *reasonLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *reasonLog) WithGroup(string) slog.Handler            { return l }

func (l *reasonLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "reason" {
			l.mu.Lock()
			l.reasons = append(l.reasons, core.Reason(a.Value.String()))
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

// take returns the reasons logged since the last call.
func (l *reasonLog) take() []core.Reason {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.reasons
	l.reasons = nil
	return r
}
