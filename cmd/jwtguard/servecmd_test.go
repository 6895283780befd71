package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// lockedBuffer is a stderr the server's goroutines may write while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs `jwtguard serve` with args until the test ends and
// returns the addresses it logged it listens on.
func startServe(t *testing.T, args ...string) (httpAddr, grpcAddr string, stderr *lockedBuffer) {
	httpAddr, grpcAddr, stderr, _ = startServeLogged(t, args...)
	return httpAddr, grpcAddr, stderr
}

// startServeLogged is startServe that also returns logged, which receives
// the message of every JSON line the server logs after it listens.
func startServeLogged(t *testing.T, args ...string) (httpAddr, grpcAddr string, stderr *lockedBuffer, logged <-chan string) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr = &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), nil, io.Discard, io.MultiWriter(pw, stderr))
		pw.Close()
	}()
	t.Cleanup(func() {
		stop()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exit %d after interrupt: %s", code, stderr.String())
			}
		case <-time.After(2 * shutdownGrace):
			t.Errorf("serve did not stop within %s of the interrupt", 2*shutdownGrace)
		}
	})
	type listening struct{ HTTP, GRPC string }
	found := make(chan listening, 1)
	messages := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		listened := false
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				HTTP string `json:"http"`
				GRPC string `json:"grpc"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch {
			case !listened && line.Msg == "jwtguard serve listening":
				listened = true
				found <- listening{line.HTTP, line.GRPC}
			case listened:
				select {
				case messages <- line.Msg:
				default: // nobody reads this far
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case l := <-found:
		return l.HTTP, l.GRPC, stderr, messages
	case code := <-done:
		t.Fatalf("serve exited %d before listening: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not listen within 30s: %s", stderr.String())
	}
	return "", "", nil, nil
}

// TestServeWatch: with -watch, a changed baseline file takes effect without
// a restart.
func TestServeWatch(t *testing.T) {
	baseline, mint := fixture(t)
	httpAddr, _, stderr, logged := startServeLogged(t, "-config", baseline, "-addr", "127.0.0.1:0", "-watch")
	claims := goodClaims()
	claims["aud"] = "billing-api"
	token := mint(claims)
	ask := func() int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+httpAddr+"/auth", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := ask(); code != http.StatusUnauthorized {
		t.Fatalf("a token for another audience: %d, want 401", code)
	}
	data, err := os.ReadFile(baseline)
	if err != nil {
		t.Fatal(err)
	}
	next := baseline + ".next"
	os.WriteFile(next, []byte(strings.Replace(string(data), "audiences: [orders-api]", "audiences: [billing-api]", 1)), 0o600)
	if err := os.Rename(next, baseline); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for reloaded := false; !reloaded; {
		select {
		case msg := <-logged:
			reloaded = strings.HasPrefix(msg, "jwtguard baseline reloaded")
		case <-deadline:
			t.Fatalf("no reload within 30s of the change: %s", stderr.String())
		}
	}
	if code := ask(); code != http.StatusOK {
		t.Errorf("after the reload: %d, want 200", code)
	}
}

// TestServeWatchPolicy: with -watch, SIGHUP puts the policy file in force
// again; a file that is refused leaves the policy in force.
func TestServeWatchPolicy(t *testing.T) {
	baseline, mint := fixture(t)
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(doc string) {
		t.Helper()
		if err := os.WriteFile(policy, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("routes:\n  - prefix: /admin\n    scopes: [admin]\n")
	httpAddr, _, stderr, logged := startServeLogged(t, "-config", baseline, "-addr", "127.0.0.1:0", "-policy", policy, "-watch")
	token := mint(goodClaims())
	admin := func() int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+httpAddr+"/auth", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Uri", "/admin")
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	hangUp := func(want string) {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(30 * time.Second)
		for {
			select {
			case msg := <-logged:
				if strings.HasPrefix(msg, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no %q within 30s of SIGHUP: %s", want, stderr.String())
			}
		}
	}
	if code := admin(); code != http.StatusForbidden {
		t.Fatalf("/admin without the admin scope: %d, want 403", code)
	}
	write("routes:\n  - prefix: /admin\n    anonymous: true\n")
	hangUp("jwtguard serve policy reloaded")
	if code := admin(); code != http.StatusOK {
		t.Fatalf("after the reload, an anonymous /admin: %d, want 200", code)
	}
	write("routes:\n  - prefix: /admin\n    anonymous: yes please\n")
	hangUp("jwtguard serve policy reload refused")
	if code := admin(); code != http.StatusOK {
		t.Fatalf("after a refused file: %d, want the policy in force (200)", code)
	}
}

// TestServeCommand starts the subcommand on free loopback ports and asks
// it for verdicts over both transports, and for its health and metrics.
func TestServeCommand(t *testing.T) {
	baseline, mint := fixture(t)
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policy, []byte("routes:\n  - prefix: /public\n    anonymous: true\n  - prefix: /admin\n    scopes: [admin]\nclaim_headers:\n  tenant: X-Tenant\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	httpAddr, grpcAddr, stderr := startServe(t, "-config", baseline, "-policy", policy,
		"-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0")
	claims := goodClaims()
	claims["tenant"] = "acme"
	token := mint(claims)

	client := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range []struct {
		name, path, uri, token string
		status                 int
		subject, tenant        string
	}{
		{"accepted", "/auth", "/orders/1", token, 200, "alice", "acme"},
		{"no token", "/auth", "/orders/1", "", 401, "", ""},
		{"anonymous route", "/auth", "/public/x", "", 200, "", ""},
		{"missing scope", "/auth", "/admin", token, 403, "", ""},
		{"Envoy's appended path", "/auth/orders/1", "", token, 200, "alice", "acme"},
		{"liveness", "/healthz", "", "", 200, "", ""},
		{"readiness", "/readyz", "", "", 200, "", ""},
		{"metrics", "/metrics", "", "", 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+httpAddr+tc.path, nil)
			if tc.uri != "" {
				req.Header.Set("X-Forwarded-Method", "GET")
				req.Header.Set("X-Forwarded-Uri", tc.uri)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("X-Auth-Subject") != tc.subject || resp.Header.Get("X-Tenant") != tc.tenant {
				t.Errorf("%d subject %q tenant %q, want %d %q %q (%s)", resp.StatusCode, resp.Header.Get("X-Auth-Subject"),
					resp.Header.Get("X-Tenant"), tc.status, tc.subject, tc.tenant, body)
			}
			if tc.path == "/metrics" && !strings.Contains(string(body), "jwtguard_") {
				t.Errorf("/metrics has no jwtguard metric:\n%s", body)
			}
		})
	}
	if !strings.Contains(stderr.String(), `"reason":"token_missing"`) {
		t.Errorf("no JSON rejection line with its reason on stderr:\n%s", stderr.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("gRPC health: %v %v, want SERVING", h, err)
	}
	res, err := authv3.NewAuthorizationClient(conn).Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Path: "/orders/1", Headers: map[string]string{"authorization": "Bearer " + token}}}}})
	if err != nil || res.GetStatus().GetCode() != 0 || res.GetOkResponse() == nil {
		t.Errorf("ext_authz Check of a good token: %v %v, want OK", res, err)
	}
}

// TestServeUsage: bad flags exit 2, a refused baseline or policy exits 1
// naming the key, plain text on a network address is refused with why.
func TestServeUsage(t *testing.T) {
	baseline, _ := fixture(t)
	dir := t.TempDir()
	badBaseline := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badBaseline, []byte("issuers: []\naudiences: [a]\nalgorithms: [RS256]\nbogus_key: 1\n"), 0o600)
	badPolicy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(badPolicy, []byte("routes:\n  - prefix: /a\n    scope: [admin]\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no config", []string{"-addr", "127.0.0.1:0"}, 2, "-config is required"},
		{"no addr", []string{"-config", baseline}, 2, "-addr is required"},
		{"unknown flag", []string{"-config", baseline, "-addr", "127.0.0.1:0", "-nope"}, 2, "flag provided but not defined"},
		{"cert without key", []string{"-config", baseline, "-addr", "127.0.0.1:0", "-tls-cert", "c.pem"}, 2, "go together"},
		{"plain text on a network address", []string{"-config", baseline, "-addr", "0.0.0.0:0"}, 2, "-insecure-plaintext"},
		{"plain text gRPC on a network address", []string{"-config", baseline, "-addr", "127.0.0.1:0", "-grpc-addr", ":0"}, 2, "unencrypted"},
		{"missing baseline", []string{"-config", filepath.Join(dir, "none.yaml"), "-addr", "127.0.0.1:0"}, 2, "no such file"},
		{"refused baseline", []string{"-config", badBaseline, "-addr", "127.0.0.1:0"}, 1, "bogus_key"},
		{"refused policy", []string{"-config", baseline, "-addr", "127.0.0.1:0", "-policy", badPolicy}, 1, "line 3: routes[0].scope: unknown key"},
		{"missing TLS files", []string{"-config", baseline, "-addr", "127.0.0.1:0", "-tls-cert", "c.pem", "-tls-key", "k.pem"}, 2, "TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"serve"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a
// pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jwtguard serve test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS: with -tls-cert and -tls-key both listeners speak TLS only.
func TestServeTLS(t *testing.T) {
	baseline, mint := fixture(t)
	certFile, keyFile, pool := selfSigned(t)
	httpAddr, grpcAddr, _ := startServe(t, "-config", baseline, "-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0",
		"-tls-cert", certFile, "-tls-key", keyFile)
	tlsConfig := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+httpAddr+"/auth", nil)
	req.Header.Set("Authorization", "Bearer "+mint(goodClaims()))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Auth-Subject") != "alice" {
		t.Errorf("over TLS: %d %q, want 200 alice", resp.StatusCode, resp.Header.Get("X-Auth-Subject"))
	}
	if resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + httpAddr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("the TLS listener answered plain text")
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("gRPC health over TLS: %v %v", h, err)
	}
	plain, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	if _, err := healthpb.NewHealthClient(plain).Check(short, &healthpb.HealthCheckRequest{}); err == nil {
		t.Error("the TLS gRPC listener answered plain text")
	}
}

// TestPlaintextAllowed is the TLS rule, address by address.
func TestPlaintextAllowed(t *testing.T) {
	for _, tc := range []struct {
		addr            string
		tls, insecure   bool
		allowed, parses bool
	}{
		{"127.0.0.1:8081", false, false, true, true},
		{"127.1.2.3:8081", false, false, true, true},
		{"[::1]:8081", false, false, true, true},
		{"localhost:8081", false, false, true, true},
		{"0.0.0.0:8081", false, false, false, true},
		{":8081", false, false, false, true},
		{"[::]:8081", false, false, false, true},
		{"10.0.0.5:8081", false, false, false, true},
		{"auth.internal:8081", false, false, false, true},
		{"0.0.0.0:8081", true, false, true, true},
		{"0.0.0.0:8081", false, true, true, true},
		{"no-port", false, false, false, false},
	} {
		err := plaintextAllowed(tc.addr, tc.tls, tc.insecure)
		if (err == nil) != tc.allowed {
			t.Errorf("%s tls=%v insecure=%v: %v, want allowed=%v", tc.addr, tc.tls, tc.insecure, err, tc.allowed)
		}
		if err != nil && tc.parses && !strings.Contains(err.Error(), "unencrypted") {
			t.Errorf("%s: %v does not say why", tc.addr, err)
		}
	}
}

// TestServeService: -service selects an estate file's service, as in the
// other commands, and defaults to $JWTGUARD_SERVICE.
func TestServeService(t *testing.T) {
	estate, mint := estateFixture(t)
	claims := goodClaims()
	claims["aud"] = "billing-api"
	token := mint(claims)
	for _, tc := range []struct {
		name, env string
		args      []string
		status    int
	}{
		{"by flag", "", []string{"-service", "billing"}, 200},
		{"by environment", "billing", nil, 200},
		{"another service", "billing", []string{"-service", "orders"}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("JWTGUARD_SERVICE", tc.env)
			addr, _, _ := startServe(t, append([]string{"-config", estate, "-addr", "127.0.0.1:0"}, tc.args...)...)
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/auth", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("%d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	t.Setenv("JWTGUARD_SERVICE", "")
	if r := runCLI(t, "", "serve", "-config", estate, "-addr", "127.0.0.1:0", "-service", "shipping"); r.code != 1 || !strings.Contains(r.stderr, "orders, billing") {
		t.Errorf("an unknown service: exit %d, stderr %q; want 1 and the known services", r.code, r.stderr)
	}
}
