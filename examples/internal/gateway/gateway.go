// Package gateway runs the sample gateway configs of examples/gateways as
// they are deployed: nginx and Caddy as real processes, each in front of an
// upstream, with `jwtguard serve` as their auth server, also a real
// process. The tests of examples/gateways and the load generator
// (examples/gateways/load) share it.
//
// The sample configs name fixed loopback addresses ([GatewayAddr],
// [ServeAddr], [ServeGRPCAddr], [AppAddr]); [Render] replaces each with a
// free port of the run. Everything a process writes (nginx's temp files and
// pid, Caddy's storage) goes to a directory of the run, so neither needs
// root nor touches the machine's own configuration.
package gateway

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The addresses the sample configs are written for, documented in each of
// them: the gateway listens on GatewayAddr, `jwtguard serve` on ServeAddr
// (-addr) and ServeGRPCAddr (-grpc-addr), and the application on AppAddr.
const (
	GatewayAddr   = "127.0.0.1:8080"
	ServeAddr     = "127.0.0.1:9191"
	ServeGRPCAddr = "127.0.0.1:9192"
	AppAddr       = "127.0.0.1:8000"
)

// Dir is examples/gateways, where the sample configs are.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "gateways")
}

// Render reads the sample config name (in [Dir]) and replaces each
// placeholder address, a key of addrs, with its value. A placeholder the
// file does not name is an error: the file and the run would disagree.
func Render(name string, addrs map[string]string) (string, error) {
	data, err := os.ReadFile(filepath.Join(Dir(), name))
	if err != nil {
		return "", err
	}
	text := string(data)
	for from, to := range addrs {
		if !strings.Contains(text, from) {
			return "", fmt.Errorf("%s no longer names %s", name, from)
		}
		text = strings.ReplaceAll(text, from, to)
	}
	return text, nil
}

// FreeAddr is a loopback address with a port that was free a moment ago,
// for a process that binds it itself. Another process could take the port
// in between; [Process.WaitListening] then fails rather than talk to it
// unnoticed only if that process does not answer, so runs use a port once.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// MissingError says a gateway binary is not installed, and how to get it.
type MissingError struct{ Binary, Package string }

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s is not installed: run `bash scripts/test.sh` (the README's test command; on Debian it installs the package %s), or install %s yourself",
		e.Binary, e.Package, e.Package)
}

// Look finds a gateway's binary on PATH, or in /usr/sbin (where Debian puts
// nginx, and which is not on every user's PATH).
func Look(binary, pkg string) (string, error) {
	if p, err := exec.LookPath(binary); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, binary)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &MissingError{Binary: binary, Package: pkg}
}

// BuildJWTGuard builds the jwtguard command into dir and returns its path.
func BuildJWTGuard(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "jwtguard")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/jwtguard/jwtguard/cmd/jwtguard")
	cmd.Dir = Dir()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build jwtguard: %v\n%s", err, out)
	}
	return bin, nil
}

// Process is a child process of the run, with its output kept.
type Process struct {
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{} // closed when it has exited
	err  error         // its exit status, once done
}

// Start starts argv[0] with argv[1:] in dir, with env added to the
// environment, in a process group of its own so that Stop reaches the
// children it forks (nginx's workers).
func Start(name, dir string, env []string, argv ...string) (*Process, error) {
	p := &Process{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Output is what the process has written to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// WaitListening waits until addr accepts connections, the process exits, or
// ctx ends; the error of the last two includes the process's output.
func (p *Process) WaitListening(ctx context.Context, addr string) error {
	return p.waitFor(ctx, func() error {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// WaitHTTP waits until url answers 200 (a readiness endpoint), the process
// exits, or ctx ends.
func (p *Process) WaitHTTP(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	return p.waitFor(ctx, func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	})
}

// waitFor polls ready until it succeeds. Polling is for the start of a
// separate process, which announces readiness in no other way; the
// deadline is ctx's.
func (p *Process) waitFor(ctx context.Context, ready func() error) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v) before it was ready:\n%s", p.name, p.err, p.Output())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %v (%w); its output:\n%s", p.name, err, ctx.Err(), p.Output())
		case <-tick.C:
		}
	}
}

// Stop asks the process to stop (SIGTERM: nginx's fast shutdown, Caddy's
// and jwtguard's graceful one), kills its process group if it has not
// exited within five seconds, and waits for it.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	// Workers outlive a master that was killed; the group takes them too.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// Exited reports whether the process has exited, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// A chatty process must not grow the run's memory without bound.
	if b.buf.Len() > 1<<20 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
