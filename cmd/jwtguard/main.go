// Command jwtguard is the operators' tool for jwtguard baselines and tokens.
//
//	jwtguard verify -config baseline.yaml [-service NAME] [TOKEN | -]   verify a token, print verdict, reason and claims
//	jwtguard lint [-services] baseline.yaml                           report every problem and risky setting, with lines
//	jwtguard fingerprint [-service NAME] baseline.yaml                print the effective and the shared fingerprint
//	jwtguard inspect TOKEN                                            decode header and claims WITHOUT verifying
//	jwtguard conformance serve-idp -addr 127.0.0.1:PORT               serve the matrix's IdP, print the baseline to configure
//	jwtguard conformance run -idp URL -target URL [-json FILE]        run the matrix against a service in any language
//	jwtguard conformance compare A.json B.json                        the cases on which two runs differ
//
// -service selects a service of an estate file (a baseline with a services
// section); the environment variable JWTGUARD_SERVICE is its default.
//
// Exit codes: 0 success (verify: accepted; lint: no errors; conformance:
// every case passed, or no differences), 1 a rejected or undecodable token,
// a baseline with problems, a failed case or a difference, 2 usage or I/O
// errors.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

const usage = `usage:
  jwtguard verify -config baseline.yaml [-service NAME] [TOKEN | -]
  jwtguard lint [-services] baseline.yaml
  jwtguard fingerprint [-service NAME] baseline.yaml
  jwtguard inspect [TOKEN | -]
  jwtguard conformance serve-idp [-addr 127.0.0.1:PORT]
  jwtguard conformance run -idp URL -target URL [-path /whoami] [-admin-path /admin]
                           [-json FILE] [-strict] [-timeout 5s] [-settle 20s]
  jwtguard conformance compare A.json B.json
-service defaults to $JWTGUARD_SERVICE
exit: 0 accepted / clean / passed, 1 rejected / baseline problems / failed cases
      or differences, 2 usage or I/O
`

// serviceFlag is -service, defaulting to JWTGUARD_SERVICE, as every
// jwtguard binary reads it.
func serviceFlag(fs *flag.FlagSet) *string {
	return fs.String("service", os.Getenv("JWTGUARD_SERVICE"), "the `service` of an estate file to use (default $JWTGUARD_SERVICE)")
}

// loadService loads a baseline and selects the service of an estate file.
func loadService(path, service string) (core.Config, error) {
	cfg, err := core.LoadBaseline(path)
	if err != nil {
		return core.Config{}, err
	}
	return cfg.ForService(service)
}

// baselineExit is the exit code of a baseline that did not load: 1 when
// the file was read and has problems, 2 when it could not be read.
func baselineExit(err error) int {
	var problem *core.ConfigError
	if errors.As(err, &problem) {
		return 1
	}
	return 2
}

func main() {
	// serve-idp serves until interrupted; the other commands end sooner.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "verify":
		return verify(ctx, args[1:], stdin, stdout, stderr)
	case "lint":
		return lint(args[1:], stdout, stderr)
	case "fingerprint":
		return fingerprint(args[1:], stdout, stderr)
	case "inspect":
		return inspect(args[1:], stdin, stdout, stderr)
	case "conformance":
		return conformanceCmd(ctx, args[1:], stdout, stderr)
	case "serve":
		return serveCmd(ctx, args[1:], stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "revoke", "fleet":
		// These speak to the fleet's NATS bus: they live in the fleet
		// module's command, so that this one and the root module need no
		// NATS client.
		fmt.Fprintf(stderr, "jwtguard: %s is a command of jwtguard-fleet:\n  go run github.com/jwtguard/jwtguard/fleet/cmd/jwtguard-fleet %s ...\n", args[0], args[0])
		return 2
	}
	fmt.Fprintf(stderr, "jwtguard: unknown command %q\n%s", args[0], usage)
	return 2
}

// readToken takes the token from the argument, or from stdin for "-" or
// none, so it need not appear in shell history.
func readToken(args []string, stdin io.Reader) (string, error) {
	if len(args) > 1 {
		return "", errors.New("one token at most")
	}
	if len(args) == 1 && args[0] != "-" {
		return strings.TrimSpace(args[0]), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 1<<20)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	tok := strings.TrimSpace(line)
	if tok == "" {
		return "", errors.New("no token given")
	}
	return strings.TrimPrefix(tok, "Bearer "), nil
}

func verify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "baseline file (required)")
	asJSON := fs.Bool("json", false, "print the verdict as one JSON object")
	verbose := fs.Bool("v", false, "log key set events and the rejection line to stderr")
	service := serviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *config == "" {
		fmt.Fprint(stderr, "jwtguard verify: -config is required\n", usage)
		return 2
	}
	token, err := readToken(fs.Args(), stdin)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard verify: %v\n", err)
		return 2
	}
	cfg, err := loadService(*config, *service)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard verify: %v\n", err)
		return baselineExit(err)
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewJSONHandler(stderr, nil))
	}
	v, err := core.New(cfg, core.WithLogger(logger))
	if err != nil {
		// A key file that cannot be read is I/O; anything else the
		// baseline's own problem.
		fmt.Fprintf(stderr, "jwtguard verify: %v\n", err)
		if errors.Is(err, iofs.ErrNotExist) || errors.Is(err, iofs.ErrPermission) {
			return 2
		}
		return 1
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(ctx, v.Config().JWKS.HTTPTimeout+time.Second)
	defer cancel()
	claims, verr := v.Verify(ctx, token)
	out := struct {
		Verdict     string          `json:"verdict"`
		Reason      string          `json:"reason,omitempty"`
		Detail      string          `json:"detail,omitempty"`
		Fingerprint string          `json:"baseline_fingerprint"`
		Claims      json.RawMessage `json:"claims,omitempty"`
	}{Verdict: "accepted", Fingerprint: v.Config().Fingerprint()}
	if verr != nil {
		var e *core.Error
		errors.As(verr, &e)
		out.Verdict, out.Reason, out.Detail = "rejected", string(e.Reason), e.Detail
	} else {
		out.Claims, _ = claims.MarshalJSON()
	}
	if *asJSON {
		b, _ := json.Marshal(out)
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		fmt.Fprintf(stdout, "verdict:     %s\n", out.Verdict)
		if verr != nil {
			fmt.Fprintf(stdout, "reason:      %s\ndetail:      %s\n", out.Reason, out.Detail)
		}
		fmt.Fprintf(stdout, "baseline:    %s\n", out.Fingerprint)
		if verr == nil {
			fmt.Fprintf(stdout, "claims:\n%s\n", indent(out.Claims))
		}
	}
	if verr != nil {
		return 1
	}
	return 0
}

func lint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := fs.Bool("services", false, "print the estate: each service, its audiences and its deviations")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if args = fs.Args(); len(args) != 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard lint: %v\n", err)
		return 2
	}
	lint := core.LintBaseline(data)
	// file:line: severity: key: message, as compilers print, so editors
	// and CI annotations can jump to the line.
	report := func(severity, key string, line int, msg string) {
		where := args[0]
		if line > 0 {
			where = fmt.Sprintf("%s:%d", args[0], line)
		}
		fmt.Fprintf(stdout, "%s: %s: %s: %s\n", where, severity, key, msg)
	}
	for _, e := range lint.Errors {
		report("error", e.Key, e.Line, e.Msg)
	}
	for _, w := range lint.Warnings {
		report("warning", w.Key, w.Line, w.Msg)
	}
	fmt.Fprintf(stdout, "%d error(s), %d warning(s)\n", len(lint.Errors), len(lint.Warnings))
	if *table {
		printEstate(stdout, lint.Services)
	}
	if len(lint.Errors) > 0 {
		return 1
	}
	return 0
}

// printEstate is the page a security review reads: every service, what it
// accepts, and every exception it has from the shared policy.
func printEstate(w io.Writer, services []core.Config) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tAUDIENCES\tDEVIATIONS\tFINGERPRINT")
	for _, s := range services {
		devs := []string{}
		for _, d := range s.Deviations {
			devs = append(devs, fmt.Sprintf("%s %s until %s (%s)", d.Key, d.Value, d.Expires.Add(-time.Hour).Format(time.DateOnly), d.Reason))
		}
		if len(devs) == 0 {
			devs = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Service, strings.Join(s.Audiences, " "), strings.Join(devs, "; "), s.Fingerprint())
	}
	tw.Flush()
}

// fingerprint prints the effective fingerprint on the first line, as
// scripts read it, and the shared policy's on the second.
func fingerprint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fingerprint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	service := serviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if args = fs.Args(); len(args) != 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cfg, err := loadService(args[0], *service)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard fingerprint: %v\n", err)
		return baselineExit(err)
	}
	fmt.Fprintln(stdout, cfg.Fingerprint())
	fmt.Fprintln(stdout, "shared", cfg.SharedFingerprint())
	return 0
}

// inspect decodes without verifying: for reading a token in an incident,
// never for deciding anything.
func inspect(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	token, err := readToken(args, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard inspect: %v\n", err)
		return 2
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		fmt.Fprintf(stderr, "jwtguard inspect: not a compact JWS (%d segments, want 3)\n", len(parts))
		return 1
	}
	fmt.Fprintln(stdout, "UNVERIFIED: decoded only; the signature and claims were NOT checked.")
	for i, name := range []string{"header", "claims"} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			fmt.Fprintf(stderr, "jwtguard inspect: %s is not base64url: %v\n", name, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s (unverified):\n%s\n", name, indent(raw))
	}
	fmt.Fprintf(stdout, "signature: %d bytes (not checked)\n", base64.RawURLEncoding.DecodedLen(len(parts[2])))
	return 0
}

func indent(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "  ", "  "); err != nil {
		return "  " + strings.ToValidUTF8(string(raw), "?") + "  (not JSON)"
	}
	return "  " + b.String()
}
