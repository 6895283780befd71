package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/contract"
	"github.com/jwtguard/jwtguard/examples/internal/idp"
	"github.com/jwtguard/jwtguard/examples/internal/nethttpapp"
	"github.com/jwtguard/jwtguard/examples/internal/service"
	"github.com/jwtguard/jwtguard/fleet"
)

// syncBuffer is a bytes.Buffer that the server's goroutines may write to,
// and that a test may wait on.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // closed and replaced at every write
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return b.buf.Write(p)
}

// await waits, write by write, until the buffer holds want, for at most
// 10s.
func (b *syncBuffer) await(t *testing.T, want string) {
	t.Helper()
	limit := time.NewTimer(10 * time.Second)
	defer limit.Stop()
	for {
		b.mu.Lock()
		if strings.Contains(b.buf.String(), want) {
			b.mu.Unlock()
			return
		}
		if b.written == nil {
			b.written = make(chan struct{})
		}
		written := b.written
		b.mu.Unlock()
		select {
		case <-written:
		case <-limit.C:
			t.Fatalf("the log does not say %s within 10s:\n%s", want, b.String())
		}
	}
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var neverServe = func(context.Context, *core.Verifier, http.Handler, net.Listener) error { panic("serve was called") }

func TestRunRefuses(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("issuers:\n  - issuer: https://idp.example\n    jwks_url: http://idp.example/keys\nalgorithms: [HS256]\n"), 0o600)
	for _, c := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no flags", nil, 2, "svc: give -config or -config-kv\nusage: svc (-config FILE [-watch] | -config-kv BUCKET/KEY -nats URL)"},
		{"a file and an entry", []string{"-config", bad, "-config-kv", "b/k", "-nats", "nats://127.0.0.1:1"}, 2, "give -config or -config-kv"},
		{"an entry and -watch", []string{"-config-kv", "b/k", "-nats", "nats://127.0.0.1:1", "-watch"}, 2, "-watch follows a file"},
		{"an entry without a bus", []string{"-config-kv", "b/k", "-nats", ""}, 2, "-config-kv needs -nats"},
		{"an entry without a key", []string{"-config-kv", "b", "-nats", "nats://127.0.0.1:1"}, 2, "-config-kv takes BUCKET/KEY"},
		{"allow-weaker without an entry", []string{"-config", bad, "-config-kv-allow-weaker"}, 2, "-config-kv-allow-weaker applies to -config-kv"},
		{"an entry on a bus that cannot be reached", []string{"-config-kv", "b/k", "-nats", "nats://127.0.0.1:1"}, 1,
			`"config_kv":"b/k","key":"(file)","line":0,"problem":"baseline in bucket \"b\" key \"k\": connecting to nats://127.0.0.1:1`},
		{"an unknown flag", []string{"-verbose"}, 2, "flag provided but not defined"},
		{"a stray argument", []string{"-config", bad, "extra"}, 2, "usage"},
		{"a missing file", []string{"-config", "/nonexistent.yaml"}, 1, `"msg":"baseline refused"`},
		{"an unsafe baseline", []string{"-config", bad}, 1, `"key":"algorithms","line":4`},
		{"every problem", []string{"-config", bad}, 1, `"key":"issuers[0].jwks_url","line":3`},
		{"an estate without a service", []string{"-config", "../../baseline.yaml"}, 1, `"problem":"no service selected: the baseline lists orders, billing"`},
		{"an unknown service", []string{"-config", "../../baseline.yaml", "-service", "shipping"}, 1, `no service \"shipping\": the baseline lists orders, billing`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stderr syncBuffer
			if code := service.Run(context.Background(), "svc", c.args, &stderr, neverServe); code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
			if !strings.Contains(stderr.String(), c.says) {
				t.Errorf("stderr %q does not say %q", stderr.String(), c.says)
			}
		})
	}
}

// TestRunServes runs a whole service as its main would, with the sample
// baseline, and stops it as SIGTERM would.
func TestRunServes(t *testing.T) {
	p, err := idp.Start("127.0.0.1:0", "orders-api", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	config := filepath.Join(t.TempDir(), "baseline.yaml")
	os.WriteFile(config, contract.Baseline(t, strings.TrimPrefix(p.URL(), "http://")), 0o600)

	ctx, stop := context.WithCancel(context.Background())
	listening := make(chan string, 1)
	var stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- service.Run(ctx, "nethttp", []string{"-config", config, "-service", "orders", "-addr", "127.0.0.1:0"}, &stderr,
			func(ctx context.Context, v *core.Verifier, metrics http.Handler, ln net.Listener) error {
				listening <- ln.Addr().String()
				return service.ServeHTTP(ctx, ln, nethttpapp.New(v, metrics))
			})
	}()
	var base string
	select {
	case a := <-listening:
		base = "http://" + a
	case code := <-done:
		t.Fatalf("exit %d before serving: %s", code, stderr.String())
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/whoami": 401} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after stop, want 0", code)
	}

	// Every line is JSON and names the service; the rejection has its reason.
	var rejected int
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if m["service"] != "nethttp" {
			t.Errorf("line without service=nethttp: %q", line)
		}
		if m["reason"] != nil {
			rejected++
			if m["reason"] != "token_missing" {
				t.Errorf("reason %v, want token_missing", m["reason"])
			}
		}
	}
	if rejected != 1 {
		t.Errorf("%d lines with a reason, want 1:\n%s", rejected, stderr.String())
	}
}

// With -nats the service joins its fleet's bus and publishes heartbeats
// under its service name; with a bus that cannot be reached it starts and
// serves all the same.
func TestRunWithNATS(t *testing.T) {
	srv := natsServer(t)
	p, err := idp.Start("127.0.0.1:0", "orders-api", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	config := filepath.Join(t.TempDir(), "baseline.yaml")
	os.WriteFile(config, contract.Baseline(t, strings.TrimPrefix(p.URL(), "http://")), 0o600)

	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	heartbeats := make(chan *nats.Msg, 16)
	if _, err := nc.ChanSubscribe(fleet.SubjectHeartbeat, heartbeats); err != nil {
		t.Fatal(err)
	}
	nc.Flush()

	for _, bus := range []string{srv.ClientURL(), "nats://127.0.0.1:1"} {
		ctx, stop := context.WithCancel(context.Background())
		var stderr syncBuffer
		served := make(chan bool, 1)
		done := make(chan int, 1)
		go func() {
			done <- service.Run(ctx, "nethttp", []string{"-config", config, "-service", "orders", "-addr", "127.0.0.1:0", "-nats", bus}, &stderr,
				func(ctx context.Context, v *core.Verifier, _ http.Handler, ln net.Listener) error {
					served <- v.Ready()
					<-ctx.Done()
					return nil
				})
		}()
		select {
		case ready := <-served:
			if !ready {
				t.Errorf("%s: not ready", bus)
			}
		case code := <-done:
			t.Fatalf("%s: exit %d before serving: %s", bus, code, stderr.String())
		}
		if bus == srv.ClientURL() {
			select {
			case m := <-heartbeats:
				var hb fleet.Heartbeat
				if json.Unmarshal(m.Data, &hb) != nil || hb.Service != "orders" || !hb.Ready {
					t.Errorf("heartbeat %s", m.Data)
				}
			case <-time.After(10 * time.Second):
				t.Error("no heartbeat from the service")
			}
		} else if !strings.Contains(stderr.String(), "bus unreachable") {
			t.Errorf("an unreachable bus is not logged: %s", stderr.String())
		}
		stop()
		if code := <-done; code != 0 {
			t.Errorf("%s: exit %d after stop", bus, code)
		}
	}
}

// natsServer runs a NATS server with JetStream on loopback for the test.
func natsServer(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// With -config-kv the service starts on the baseline in the entry and
// follows it: a new baseline switches it (a token only the new one accepts
// passes after, not before), an invalid one is refused with its key and
// line while the old one serves on. A missing entry stops it at start.
func TestRunFromKV(t *testing.T) {
	srv := natsServer(t)
	p, err := idp.Start("127.0.0.1:0", "orders-api", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	first := contract.Baseline(t, strings.TrimPrefix(p.URL(), "http://"))
	if _, err := fleet.PublishBaseline(context.Background(), js, "baselines", "estate", first); err != nil {
		t.Fatal(err)
	}

	var refused syncBuffer
	code := service.Run(context.Background(), "svc", []string{"-config-kv", "baselines/missing", "-service", "orders", "-nats", srv.ClientURL()},
		&refused, neverServe)
	if code != 1 || !strings.Contains(refused.String(), `baseline in bucket \"baselines\" key \"missing\": no such entry`) {
		t.Fatalf("a missing entry: exit %d: %s", code, refused.String())
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stderr syncBuffer
	serving := make(chan *core.Verifier, 1)
	done := make(chan int, 1)
	go func() {
		done <- service.Run(ctx, "svc", []string{"-config-kv", "baselines/estate", "-config-kv-allow-weaker", "-service", "orders",
			"-addr", "127.0.0.1:0", "-nats", srv.ClientURL()}, &stderr, func(ctx context.Context, v *core.Verifier, _ http.Handler, _ net.Listener) error {
			serving <- v
			<-ctx.Done()
			return nil
		})
	}()
	var v *core.Verifier
	select {
	case v = <-serving:
	case code := <-done:
		t.Fatalf("exit %d before serving: %s", code, stderr.String())
	}
	v2 := p.NewToken("alice").Audience("orders-v2").Sign()
	if _, err := v.Verify(ctx, v2); !errors.Is(err, core.ReasonAudienceInvalid) {
		t.Fatalf("before the publish: %v", err)
	}
	next := bytes.Replace(first, []byte("audiences: [orders-api]"), []byte("audiences: [orders-v2]"), 1)
	if _, err := fleet.PublishBaseline(ctx, js, "baselines", "estate", next); err != nil {
		t.Fatal(err)
	}
	stderr.await(t, `"msg":"jwtguard baseline reloaded: verification is weaker"`)
	if _, err := v.Verify(ctx, v2); err != nil {
		t.Fatalf("after the publish: %v", err)
	}
	kv, err := js.KeyValue(ctx, "baselines")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "estate", bytes.Replace(next, []byte("leeway: 30s"), []byte("leeway: soon"), 1)); err != nil {
		t.Fatal(err)
	}
	stderr.await(t, `"msg":"jwtguard baseline update refused","service":"svc","bucket":"baselines","kv_key":"estate","revision":3,"key":"leeway","line":30`)
	if _, err := v.Verify(ctx, v2); err != nil {
		t.Fatalf("after a refused update: %v", err)
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after stop: %s", code, stderr.String())
	}
}
