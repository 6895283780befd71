// Command load measures the latency that `jwtguard serve` adds behind
// nginx: one nginx runs the sample config (examples/gateways/nginx.conf,
// auth_request to jwtguard) and, beside it, a plain proxy to the same
// upstream, and an open-loop generator sends the same valid token to both
// at a fixed rate, in turns of -phase so that both see the same machine;
// a third turn asks jwtguard directly, as nginx does. It prints p50, p90
// and p99 of each and the difference nginx + jwtguard makes over nginx,
// and exits non-zero if any request was not answered 200.
//
//	go run ./examples/gateways/load -rate 2000 -duration 20s
//
// Latency is measured from the time a request was due, not the time it was
// sent: a generator that falls behind counts its own delay instead of
// hiding it (open loop). Everything runs on loopback: nginx (one worker),
// jwtguard serve (built from this tree), the IdP, the upstream and the
// generator share the machine's cores.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jwtguard/jwtguard/examples/internal/gateway"
	"github.com/jwtguard/jwtguard/examples/internal/idp"
)

func main() {
	rate := flag.Int("rate", 2000, "requests per second, to one target at a time")
	duration := flag.Duration("duration", 20*time.Second, "measured time per target, in turns of -phase")
	phase := flag.Duration("phase", time.Second, "how long each target is sent to before the other's turn")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured time per target first (connections, token cache)")
	flag.Parse()
	if *rate <= 0 || *duration <= 0 || *phase <= 0 {
		fmt.Fprintln(os.Stderr, "load: -rate, -duration and -phase must be positive")
		os.Exit(2)
	}
	if err := run(*rate, *duration, *phase, *warmup); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// target is one way to the upstream (or to jwtguard), with what it
// measured.
type target struct {
	name   string
	url    string
	header http.Header // beyond the token

	mu sync.Mutex
	// fromDue is each answer's latency from the time its request was
	// due; fromSend from the time it was sent, without the generator's
	// own lag.
	fromDue, fromSend []time.Duration
	non200            map[string]int // status or error, counted
}

func (t *target) record(fromDue, fromSend time.Duration, outcome string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if outcome != "" {
		t.non200[outcome]++
		return
	}
	t.fromDue = append(t.fromDue, fromDue)
	t.fromSend = append(t.fromSend, fromSend)
}

func run(rate int, duration, phase, warmup time.Duration) error {
	nginxBin, err := gateway.Look("nginx", "nginx")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "jwtguard-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	fmt.Fprintln(os.Stderr, "building jwtguard...")
	bin, err := gateway.BuildJWTGuard(ctx, dir)
	if err != nil {
		return err
	}
	p, err := idp.Start("127.0.0.1:0", gateway.Audience, time.Now)
	if err != nil {
		return err
	}
	defer p.Close()
	serve, err := gateway.StartServe(ctx, bin, dir, strings.TrimPrefix(p.URL(), "http://"))
	if err != nil {
		return err
	}
	defer serve.Stop()

	// The upstream answers as little as it can: both targets pay for it.
	app := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})}
	appAddr, err := gateway.FreeAddr()
	if err != nil {
		return err
	}
	appLn, err := net.Listen("tcp", appAddr)
	if err != nil {
		return err
	}
	go app.Serve(appLn)
	defer app.Close()

	authAddr, err := gateway.FreeAddr()
	if err != nil {
		return err
	}
	plainAddr, err := gateway.FreeAddr()
	if err != nil {
		return err
	}
	site, err := gateway.Render(gateway.NginxSite, map[string]string{
		gateway.GatewayAddr: authAddr,
		gateway.ServeAddr:   serve.Addr,
		gateway.AppAddr:     appAddr,
	})
	if err != nil {
		return err
	}
	// The plain proxy: the sample's own upstream block, without
	// auth_request.
	site += fmt.Sprintf(`
server {
    listen %s;
    location / {
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass http://app;
    }
}
`, plainAddr)
	nginx, err := gateway.StartNginx(ctx, nginxBin, dir, site, authAddr)
	if err != nil {
		return err
	}
	defer nginx.Stop()
	if err := nginx.WaitListening(ctx, plainAddr); err != nil {
		return err
	}

	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     time.Minute,
		},
	}
	token := p.NewToken("alice").Scopes("orders.read").Sign()
	plain := &target{name: "nginx", url: "http://" + plainAddr + "/orders/1", non200: map[string]int{}}
	auth := &target{name: "nginx + jwtguard", url: "http://" + authAddr + "/orders/1", non200: map[string]int{}}
	// jwtguard asked directly, as nginx asks it: its own round trip,
	// for comparison.
	direct := &target{name: "jwtguard alone", url: "http://" + serve.Addr + "/auth", non200: map[string]int{},
		header: http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/orders/1"}}}
	targets := []*target{plain, auth, direct}

	// The auth target must refuse a request without the token: otherwise
	// it measures a plain proxy twice.
	if err := expect(client, auth.url, "", http.StatusUnauthorized); err != nil {
		return err
	}
	if err := expect(client, auth.url, token, http.StatusOK); err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "warming up %s per target, then %s at %d requests/s, alternating every %s...\n",
		warmup, duration, rate, phase)
	loadBefore := loadAverage()
	for _, t := range targets {
		fire(client, t, token, rate, warmup, nil)
	}
	var lag []time.Duration
	for measured := time.Duration(0); measured < duration; {
		d := min(phase, duration-measured)
		for _, t := range targets {
			lag = append(lag, fire(client, t, token, rate, d, t)...)
		}
		measured += d
	}
	loadAfter := loadAverage()

	failed := 0
	for _, t := range targets {
		slices.Sort(t.fromDue)
		slices.Sort(t.fromSend)
		for _, n := range t.non200 {
			failed += n
		}
	}
	report(os.Stdout, "latency from the time each request was due (open loop)", targets, func(t *target) []time.Duration { return t.fromDue })
	fmt.Println()
	report(os.Stdout, "latency from the time each request was sent", targets, func(t *target) []time.Duration { return t.fromSend })
	slices.Sort(lag)
	fmt.Printf("\n%d cores, load average %s before, %s after; generator lag (due to sent) p50 %s, p99 %s\n",
		runtime.NumCPU(), loadBefore, loadAfter, us(pct(lag, 50)), us(pct(lag, 99)))

	if failed > 0 {
		var all []string
		for _, t := range targets {
			for what, n := range t.non200 {
				all = append(all, fmt.Sprintf("%s: %d × %s", t.name, n, what))
			}
		}
		slices.Sort(all)
		return fmt.Errorf("%d requests not answered 200: %s", failed, strings.Join(all, "; "))
	}
	return nil
}

// fire sends to t at rate for d, open loop: request i is due at start +
// i/rate and is sent then, whether earlier ones have been answered or not.
// It records into rec (nil: warm-up) and returns how late each send was.
func fire(client *http.Client, t *target, token string, rate int, d time.Duration, rec *target) []time.Duration {
	interval := time.Second / time.Duration(rate)
	n := int(d / interval)
	lag := make([]time.Duration, 0, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		sent := time.Now()
		lag = append(lag, sent.Sub(due))
		wg.Go(func() {
			outcome := send(client, t, token)
			if rec != nil {
				rec.record(time.Since(due), time.Since(sent), outcome)
			}
		})
	}
	wg.Wait()
	return lag
}

// send makes one request and reads its answer; the outcome is "" for a 200
// and the status or error otherwise.
func send(client *http.Client, t *target, token string) string {
	req, err := http.NewRequest(http.MethodGet, t.url, nil)
	if err != nil {
		return err.Error()
	}
	for k, v := range t.header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return errorKind(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return errorKind(err)
	case resp.StatusCode != http.StatusOK:
		return resp.Status
	}
	return ""
}

// report prints one table: each target's percentiles of the latencies of
// pick, and the difference of the first two (nginx + jwtguard over nginx).
func report(out io.Writer, title string, targets []*target, pick func(*target) []time.Duration) {
	fmt.Fprintln(out, title+":")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "target\trequests\tnon-200\tp50\tp90\tp99\tmax\t\n")
	q := make([][3]time.Duration, len(targets))
	for i, t := range targets {
		l := pick(t)
		bad := 0
		for _, n := range t.non200 {
			bad += n
		}
		q[i] = [3]time.Duration{pct(l, 50), pct(l, 90), pct(l, 99)}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", t.name, len(l)+bad, bad,
			us(q[i][0]), us(q[i][1]), us(q[i][2]), us(last(l)))
	}
	fmt.Fprintf(w, "nginx + jwtguard − nginx\t\t\t%s\t%s\t%s\t\t\n",
		signed(q[1][0]-q[0][0]), signed(q[1][1]-q[0][1]), signed(q[1][2]-q[0][2]))
	w.Flush()
}

// errorKind names an error without its addresses, so that the report
// counts errors of one kind together.
func errorKind(err error) string {
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return "timeout"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

func expect(client *http.Client, url, token string, status int) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		return fmt.Errorf("GET %s (token: %v): %s, want %d", url, token != "", resp.Status, status)
	}
	return nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func last(sorted []time.Duration) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[len(sorted)-1]
}

func us(d time.Duration) string { return fmt.Sprintf("%dµs", d.Microseconds()) }

func signed(d time.Duration) string {
	if d >= 0 {
		return "+" + us(d)
	}
	return us(d)
}

// loadAverage is the 1-minute load average, for the report: the machine
// may be shared.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}
