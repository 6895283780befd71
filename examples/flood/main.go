// Command flood measures what a flood of hostile tokens costs the log: it
// runs the gin example service against the examples' IdP, sends valid
// tokens from half its clients and tokens with random kids from the other
// half, and reports the requests and the log lines and bytes the service
// wrote, with the baseline's log budget or with every line written.
//
//	go run ./examples/flood -duration 90s                # log.rejections_per_second: 10 (the default)
//	go run ./examples/flood -duration 90s -budget 0      # every rejection logged
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/ginapp"
	"github.com/jwtguard/jwtguard/examples/internal/idp"
)

// counter counts the lines and bytes written to the log, and drops them.
type counter struct{ lines, bytes atomic.Int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.lines.Add(int64(strings.Count(string(p), "\n")))
	c.bytes.Add(int64(len(p)))
	return len(p), nil
}

func main() {
	duration := flag.Duration("duration", 90*time.Second, "how long to flood")
	clients := flag.Int("clients", 8, "concurrent clients, half of them hostile")
	budget := flag.Int("budget", 10, "log.rejections_per_second of the service's baseline (0: every rejection)")
	flag.Parse()
	if err := run(*duration, *clients, *budget); err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, clients, budget int) error {
	p, err := idp.Start("127.0.0.1:0", "orders-api", time.Now)
	if err != nil {
		return err
	}
	defer p.Close()
	cfg, err := core.ParseBaseline([]byte(fmt.Sprintf("issuers:\n  - issuer: %s\n    jwks_url: %s\n"+
		"audiences: [orders-api]\nalgorithms: [ES256]\nlog:\n  rejections_per_second: %d\n", p.Issuer(), p.JWKSURL(), budget)))
	if err != nil {
		return err
	}
	logs := &counter{}
	v, err := core.New(cfg, core.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	if err != nil {
		return err
	}
	defer v.Close()
	gin.SetMode(gin.ReleaseMode)
	srv := httptest.NewServer(ginapp.New(v, http.NotFoundHandler()))
	defer srv.Close()
	start := logs.lines.Load() // the start line

	valid := p.NewToken("alice").Scopes("read").Sign()
	var accepted, refused, wrong atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range clients {
		hostile := i%2 == 1
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for ctx.Err() == nil {
				tok := valid
				if hostile {
					tok = withRandomKID(valid)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/whoami", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusOK && !hostile:
					accepted.Add(1)
				case resp.StatusCode == http.StatusUnauthorized && hostile:
					refused.Add(1)
				default:
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	v.Close() // writes the last summary
	lines := logs.lines.Load() - start
	fmt.Printf("%s, %d clients, log.rejections_per_second %d\n", duration, clients, budget)
	fmt.Printf("valid accepted %d, hostile refused %d, out of contract %d\n", accepted.Load(), refused.Load(), wrong.Load())
	fmt.Printf("log: %d lines, %d bytes (%.1f lines/s)\n", lines, logs.bytes.Load(), float64(lines)/duration.Seconds())
	if wrong.Load() > 0 {
		return fmt.Errorf("%d answers out of contract", wrong.Load())
	}
	return nil
}

// withRandomKID replaces the kid of a valid token by a random one, as a
// prober does; its signature no longer matters, the kid fails first.
func withRandomKID(valid string) string {
	b := make([]byte, 8)
	rand.Read(b)
	head := `{"alg":"ES256","kid":"` + hex.EncodeToString(b) + `","typ":"at+jwt"}`
	_, rest, _ := strings.Cut(valid, ".")
	return b64(head) + "." + rest
}

// b64 is base64url without padding (RFC 7515 section 2).
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
