// Command jwtguard is the operators' tool for jwtguard baselines and tokens.
//
//	jwtguard verify -config baseline.yaml [-service NAME] [TOKEN | -]   verify a token, print verdict, reason and claims
//	jwtguard lint [-services] [-online] baseline.yaml                 report every problem and risky setting, with lines
//	jwtguard fingerprint [-service NAME] baseline.yaml                print the effective and the shared fingerprint
//	jwtguard inspect TOKEN                                            decode header and claims WITHOUT verifying
//	jwtguard conformance serve-idp -addr 127.0.0.1:PORT               serve the matrix's IdP, print the baseline to configure
//	jwtguard conformance run -idp URL -target URL [-json FILE]        run the matrix against a service in any language
//	jwtguard conformance compare A.json B.json                        the cases on which two runs differ
//	jwtguard serve -config baseline.yaml -addr 127.0.0.1:PORT [-policy F]  the verdict for nginx, Traefik, Caddy and Envoy
//	jwtguard revoke -nats URL (-kid KID | -jti JTI | -sub SUB) -ttl D   refuse matching tokens fleet-wide until the TTL
//	jwtguard fleet -nats URL [-baseline FILE]                         the live instances by service, and drift
//	jwtguard publish -nats URL -bucket B -key K baseline.yaml         lint, then write the baseline the services follow
//
// -service selects a service of an estate file (a baseline with a services
// section); the environment variable JWTGUARD_SERVICE is its default.
// verify, lint and fingerprint take their flags before or after the token
// or file; after "--", none.
//
// Exit codes: 0 success (verify: accepted; lint: no errors; conformance:
// every case passed, or no differences; fleet: no drift), 1 a rejected or
// undecodable token, a baseline with problems (publish writes nothing), a
// failed case or a difference, drift, a refused revocation, 2 usage,
// connection or I/O errors.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net/http"
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
  jwtguard lint [-services] [-online] baseline.yaml
  jwtguard fingerprint [-service NAME] baseline.yaml
  jwtguard inspect [TOKEN | -]
  jwtguard conformance serve-idp [-addr 127.0.0.1:PORT]
  jwtguard conformance run -idp URL -target URL [-path /whoami] [-admin-path /admin]
                           [-json FILE] [-strict] [-timeout 5s] [-settle 20s]
  jwtguard conformance compare A.json B.json
  jwtguard serve -config baseline.yaml -addr HOST:PORT [-grpc-addr HOST:PORT] [-policy FILE]
                 [-service NAME] [-watch] [-tls-cert F -tls-key F] [-insecure-plaintext]
  jwtguard revoke -nats URL (-kid KID | -jti JTI | -sub SUB) [-issuer ISS] -ttl DURATION [-note TEXT] [-max N]
  jwtguard revoke -nats URL -list [-json]
  jwtguard revoke -nats URL -delete (-kid KID | -jti JTI | -sub SUB) [-issuer ISS]
  jwtguard fleet -nats URL [-wait D] [-baseline FILE] [-bound D] [-json]
  jwtguard publish -nats URL -bucket BUCKET -key KEY baseline.yaml
-service defaults to $JWTGUARD_SERVICE; -nats to $JWTGUARD_NATS, with -nats-creds,
-nats-nkey, -nats-ca, -nats-cert, -nats-key as for the services
exit: 0 accepted / clean / passed / no drift, 1 rejected / baseline problems /
      failed cases or differences / drift / refused, 2 usage, connection or I/O
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
		return lint(ctx, args[1:], stdout, stderr)
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
	case "revoke":
		return revokeCmd(ctx, args[1:], stdout, stderr)
	case "fleet":
		return fleetCmd(ctx, args[1:], stdout, stderr)
	case "publish":
		return publish(ctx, args[1:], stdout, stderr)
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
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if *config == "" {
		fmt.Fprint(stderr, "jwtguard verify: -config is required\n", usage)
		return 2
	}
	token, err := readToken(rest, stdin)
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
	out := verdictOutput{Verdict: "accepted", Fingerprint: v.Config().Fingerprint()}
	if verr != nil {
		var e *core.Error
		errors.As(verr, &e)
		out.rejected(e, token, v)
	} else {
		out.Claims, _ = claims.MarshalJSON()
	}
	if *asJSON {
		b, _ := json.Marshal(out)
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		out.print(stdout)
	}
	if verr != nil {
		return 1
	}
	return 0
}

func lint(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := fs.Bool("services", false, "print the estate: each service, its audiences and its deviations")
	online := fs.Bool("online", false, "also fetch each issuer's discovery document and compare its issuer (lint is offline without it)")
	args, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(args) != 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard lint: %v\n", err)
		return 2
	}
	lint := core.LintBaseline(data)
	if *online {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		lint.Warnings = append(lint.Warnings, core.LintOnline(ctx, data, &http.Client{Timeout: 10 * time.Second})...)
		cancel()
	}
	for _, e := range lint.Errors {
		printProblem(stdout, args[0], "error", e.Key, e.Line, e.Msg)
	}
	for _, w := range lint.Warnings {
		printProblem(stdout, args[0], "warning", w.Key, w.Line, w.Msg)
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

// printProblem prints one problem of a baseline file as file:line:
// severity: key: message, as compilers print, so editors and CI annotations
// can jump to the line.
func printProblem(w io.Writer, file, severity, key string, line int, msg string) {
	where := file
	if line > 0 {
		where = fmt.Sprintf("%s:%d", file, line)
	}
	fmt.Fprintf(w, "%s: %s: %s: %s\n", where, severity, key, msg)
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
		auds := strings.Join(s.Audiences, " ")
		if s.AudienceClaim == core.AudienceClaimClientID {
			// Read from client_id, not aud: a reviewer must know which.
			auds += " (" + core.AudienceClaimClientID + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Service, auds, strings.Join(devs, "; "), s.Fingerprint())
	}
	tw.Flush()
}

// fingerprint prints the effective fingerprint on the first line, as
// scripts read it, and the shared policy's on the second.
func fingerprint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fingerprint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	service := serviceFlag(fs)
	args, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(args) != 1 {
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
	d, err := decodeToken(token)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard inspect: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "UNVERIFIED: decoded only; the signature and claims were NOT checked.")
	if d.encrypted {
		// RFC 7516 section 7.1: only the protected header of a compact JWE
		// is readable; the claims are in the ciphertext.
		fmt.Fprintln(stdout, "ENCRYPTED: a JWE (5 segments); its claims cannot be read without the recipient's key, and jwtguard verifies signed tokens (JWS) only.")
		fmt.Fprintf(stdout, "protected header (unverified):\n%s\n", indent(d.header))
		for i, name := range jweParts {
			fmt.Fprintf(stdout, "%s: %d bytes\n", name, d.sizes[i])
		}
		return 0
	}
	fmt.Fprintf(stdout, "header (unverified):\n%s\n", indent(d.header))
	fmt.Fprintf(stdout, "claims (unverified):\n%s\n", indent(d.claims))
	fmt.Fprintf(stdout, "signature: %d bytes (not checked)\n", d.sizes[0])
	return 0
}

func indent(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "  ", "  "); err != nil {
		return "  " + strings.ToValidUTF8(string(raw), "?") + "  (not JSON)"
	}
	return "  " + b.String()
}
