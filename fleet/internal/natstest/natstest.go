// Package natstest runs NATS servers in the test's process: JetStream on,
// loopback only, stores in the test's temporary directory.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options are a single server's: loopback, a free port, JetStream with its
// store under tb's temporary directory.
func Options(tb testing.TB) *server.Options {
	tb.Helper()
	return &server.Options{ServerName: "n0", Host: "127.0.0.1", Port: freePort(tb), JetStream: true,
		StoreDir: tb.TempDir(), NoLog: true, NoSigs: true}
}

// Start runs a server with opts and stops it when tb's test ends.
func Start(tb testing.TB, opts *server.Options) *server.Server {
	tb.Helper()
	s, err := server.NewServer(opts)
	if err != nil {
		tb.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		tb.Fatalf("NATS server %s not ready", opts.ServerName)
	}
	tb.Cleanup(func() { Stop(s) })
	return s
}

// Server runs one server.
func Server(tb testing.TB) *server.Server { return Start(tb, Options(tb)) }

// Stop shuts s down and waits until it has.
func Stop(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}

// Cluster runs n servers that form one JetStream cluster, and returns
// them when JetStream has a meta leader.
func Cluster(tb testing.TB, n int) []*server.Server {
	tb.Helper()
	routes := make([]int, n)
	for i := range routes {
		routes[i] = freePort(tb)
	}
	var urls []string
	for _, p := range routes {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	servers := make([]*server.Server, n)
	for i := range servers {
		o := Options(tb)
		o.ServerName = fmt.Sprintf("n%d", i)
		o.Cluster = server.ClusterOpts{Name: "jwtguard", Host: "127.0.0.1", Port: routes[i]}
		o.Routes = server.RoutesFromStr(joinComma(urls))
		servers[i] = Start(tb, o)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range servers {
			if s.JetStreamIsLeader() {
				return servers
			}
		}
		time.Sleep(50 * time.Millisecond) // the cluster has no event to wait on
	}
	tb.Fatal("the JetStream cluster elected no leader")
	return nil
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
