package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/conformance"
)

// conformanceCmd tests a service in any language from outside: serve-idp
// serves the matrix's IdP, run sends the matrix to the service, compare
// sets two runs side by side. The logic is package conformance's.
func conformanceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "jwtguard conformance: serve-idp, run or compare\n", usage)
		return 2
	}
	switch args[0] {
	case "serve-idp":
		return serveIdP(ctx, args[1:], stdout, stderr)
	case "run":
		return conformanceRun(ctx, args[1:], stdout, stderr)
	case "compare":
		return compare(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "jwtguard conformance: unknown command %q\n%s", args[0], usage)
	return 2
}

func serveIdP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance serve-idp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen `address`, on loopback")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	// The IdP's keys are public: it never listens beyond the machine,
	// not even for the moment ServeIdP would take to refuse it.
	if host, _, err := net.SplitHostPort(*addr); err != nil || (host != "localhost" && !net.ParseIP(host).IsLoopback()) {
		fmt.Fprintf(stderr, "jwtguard conformance serve-idp: -addr %s: want a loopback address, such as 127.0.0.1:8099\n", *addr)
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard conformance serve-idp: %v\n", err)
		return 2
	}
	idp, err := conformance.ServeIdP(ln)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "jwtguard conformance serve-idp: %v\n", err)
		return 2
	}
	defer idp.Close()
	url := idp.URL()
	fmt.Fprintf(stdout, `# jwtguard conformance IdP at %s, until interrupted.
# Configure the service under test with these values (for a jwtguard
# service, this is its baseline file), then run
#   jwtguard conformance run -idp %s -target http://HOST:PORT
# Discovery: %s/.well-known/openid-configuration
# The keys are public, derived from a fixed seed: trust this IdP in tests only.
%s`, url, url, url, idp.Baseline().YAML())
	<-ctx.Done()
	return 0
}

func conformanceRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var t conformance.Target
	fs.StringVar(&t.IdP, "idp", "", "base `URL` of the IdP serve-idp serves (required)")
	fs.StringVar(&t.URL, "target", "", "base `URL` of the service under test (required)")
	fs.StringVar(&t.Path, "path", "/whoami", "a `route` that needs a valid token")
	fs.StringVar(&t.AdminPath, "admin-path", "/admin", "a `route` that needs the scope admin")
	fs.BoolVar(&t.Strict, "strict", false, "count the RFC 6750 details of a service that sends no Bearer challenge")
	fs.DurationVar(&t.Timeout, "timeout", 5*time.Second, "bound on each request; an answer not in by then is out of contract")
	fs.DurationVar(&t.Settle, "settle", 20*time.Second, "bound on a key set change reaching the service")
	jsonFile := fs.String("json", "", "also write the report as JSON to `FILE`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if t.IdP == "" || t.URL == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "jwtguard conformance run: -idp and -target are required\n", usage)
		return 2
	}
	report, err := t.Run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard conformance run: %v\n", err)
		return 2
	}
	if err := report.WriteText(stdout); err != nil {
		return 2
	}
	if *jsonFile != "" {
		data, err := json.MarshalIndent(report, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonFile, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "jwtguard conformance run: %v\n", err)
			return 2
		}
	}
	if report.Failed() > 0 {
		return 1
	}
	return 0
}

// compare prints the cases on which two reports differ, as diff does:
// exit 0 when none, 1 when some.
func compare(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprint(stderr, "jwtguard conformance compare: two reports (-json files of run)\n", usage)
		return 2
	}
	var reports [2]*conformance.Report
	for i, path := range args {
		data, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(data, &reports[i])
		}
		if err == nil && (reports[i] == nil || len(reports[i].Cases) == 0) {
			err = errors.New("not a report of jwtguard conformance run -json")
		}
		if err != nil {
			fmt.Fprintf(stderr, "jwtguard conformance compare: %s: %v\n", path, err)
			return 2
		}
	}
	fmt.Fprintf(stdout, "A: %s (%s)\nB: %s (%s)\n", args[0], reports[0].Target, args[1], reports[1].Target)
	diff := conformance.Compare(reports[0], reports[1])
	if len(diff) == 0 {
		fmt.Fprintln(stdout, "no differences")
		return 0
	}
	fmt.Fprintf(stdout, "%d cases differ:\n%s\n", len(diff), strings.Join(diff, "\n"))
	return 1
}
