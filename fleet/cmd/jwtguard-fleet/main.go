// Command jwtguard-fleet is the operators' tool for a fleet of jwtguard
// services on a NATS bus. It is a command of its own, in the fleet module,
// so that the jwtguard command and the root module need no NATS.
//
//	jwtguard-fleet revoke -nats URL (-kid KID | -jti JTI | -sub SUB) [-issuer ISS] -ttl DURATION [-note TEXT]
//	jwtguard-fleet revoke -nats URL -list [-json]
//	jwtguard-fleet revoke -nats URL -delete (-kid KID | -jti JTI | -sub SUB) [-issuer ISS]
//	jwtguard-fleet fleet -nats URL [-wait D] [-baseline FILE] [-bound D] [-json]
//
// revoke adds, lists or deletes an emergency revocation: every instance
// refuses a matching token within a second, with token_revoked, until the
// TTL. fleet lists the live instances by service and reports drift.
//
// Exit codes: 0 success (fleet: no drift), 1 drift or a refused request
// (a full list, nothing to delete), 2 usage, connection or I/O errors.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fleet"
)

const usage = `usage:
  jwtguard-fleet revoke -nats URL (-kid KID | -jti JTI | -sub SUB) [-issuer ISS] -ttl DURATION [-note TEXT]
  jwtguard-fleet revoke -nats URL -list [-json]
  jwtguard-fleet revoke -nats URL -delete (-kid KID | -jti JTI | -sub SUB) [-issuer ISS]
  jwtguard-fleet fleet -nats URL [-wait D] [-baseline FILE] [-bound D] [-json]
-nats defaults to $JWTGUARD_NATS; -nats-creds, -nats-nkey, -nats-ca, -nats-cert, -nats-key as for the services
exit: 0 done / no drift, 1 drift / refused, 2 usage, connection or I/O
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "revoke":
		return revoke(ctx, args[1:], stdout, stderr)
	case "fleet":
		return fleetCmd(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "jwtguard-fleet: unknown command %q\n%s", args[0], usage)
	return 2
}

// connect dials the bus once, failing fast: an operator's command should
// say the bus is unreachable rather than wait for it.
func connect(conn *fleet.ConnFlags) (*nats.Conn, jetstream.JetStream, error) {
	if conn.URL == "" {
		return nil, nil, errors.New("-nats is required")
	}
	opts, err := conn.Options()
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(conn.URL, append([]nats.Option{nats.Name("jwtguard-fleet"), nats.Timeout(5 * time.Second)}, opts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", conn.URL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func revoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn fleet.ConnFlags
	conn.Register(fs)
	kid := fs.String("kid", "", "revoke every token signed under this `kid`, even while the IdP still publishes it")
	jti := fs.String("jti", "", "revoke the token with this `jti`")
	sub := fs.String("sub", "", "revoke every token of this `subject`")
	issuer := fs.String("issuer", "", "only tokens of this `issuer` (default: any issuer)")
	ttl := fs.Duration("ttl", 0, "how long the revocation lasts, e.g. 1h (required to revoke)")
	note := fs.String("note", "", "why, for whoever lists it")
	list := fs.Bool("list", false, "list the revocations in force")
	del := fs.Bool("delete", false, "delete the revocation named by -kid, -jti or -sub (and -issuer)")
	asJSON := fs.Bool("json", false, "with -list: print JSON")
	maxEntries := fs.Int("max", fleet.DefaultMaxRevocations, "refuse a new revocation when the list holds this many")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "jwtguard-fleet revoke: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	r := fleet.Revocation{Issuer: *issuer, Note: *note}
	named := 0
	for _, k := range []struct{ kind, value string }{{fleet.KindKID, *kid}, {fleet.KindJTI, *jti}, {fleet.KindSub, *sub}} {
		if k.value != "" {
			r.Kind, r.Value = k.kind, k.value
			named++
		}
	}
	switch {
	case *list && (*del || named > 0 || *ttl != 0):
		fmt.Fprintln(stderr, "jwtguard-fleet revoke: -list takes no -kid, -jti, -sub, -ttl or -delete")
		return 2
	case !*list && named != 1:
		fmt.Fprintln(stderr, "jwtguard-fleet revoke: give exactly one of -kid, -jti and -sub")
		return 2
	case !*list && !*del && *ttl <= 0:
		fmt.Fprintln(stderr, "jwtguard-fleet revoke: -ttl is required, e.g. -ttl 1h")
		return 2
	case *del && *ttl != 0:
		fmt.Fprintln(stderr, "jwtguard-fleet revoke: -delete takes no -ttl")
		return 2
	}
	nc, js, err := connect(&conn)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard-fleet revoke: %v\n", err)
		return 2
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	switch {
	case *list:
		entries, err := fleet.Revocations(ctx, js)
		if err != nil {
			fmt.Fprintf(stderr, "jwtguard-fleet revoke: %v\n", err)
			return 2
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if entries == nil {
				entries = []fleet.Revocation{}
			}
			_ = enc.Encode(entries)
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tVALUE\tISSUER\tEXPIRES\tNOTE")
		for _, e := range entries {
			iss := e.Issuer
			if iss == "" {
				iss = "(any)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s (in %s)\t%s\n", e.Kind, e.Value, iss, e.Expires.UTC().Format(time.RFC3339),
				time.Until(e.Expires).Round(time.Second), e.Note)
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d revocations in force\n", len(entries))
		return 0
	case *del:
		found, err := fleet.Unrevoke(ctx, js, r)
		if err != nil {
			fmt.Fprintf(stderr, "jwtguard-fleet revoke: %v\n", err)
			return 2
		}
		if !found {
			fmt.Fprintf(stderr, "jwtguard-fleet revoke: no revocation of %s\n", r)
			return 1
		}
		fmt.Fprintf(stdout, "deleted the revocation of %s\n", r)
		return 0
	}
	host, _ := os.Hostname()
	r.Created, r.Expires, r.By = time.Now().UTC(), time.Now().Add(*ttl).UTC(), host
	if err := fleet.Revoke(ctx, js, r, *maxEntries); err != nil {
		fmt.Fprintf(stderr, "jwtguard-fleet revoke: %v\n", err)
		if errors.Is(err, fleet.ErrRevocationsFull) {
			return 1
		}
		return 2
	}
	fmt.Fprintf(stdout, "revoked %s until %s\n", r, r.Expires.Format(time.RFC3339))
	return 0
}

// fleetReport is the JSON output of the fleet command.
type fleetReport struct {
	Instances []fleet.Heartbeat `json:"instances"`
	Drift     []fleet.Drift     `json:"drift"`
}

func fleetCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn fleet.ConnFlags
	conn.Register(fs)
	wait := fs.Duration("wait", 2*time.Second, "how long to collect heartbeats after asking every instance for one")
	baseline := fs.String("baseline", "", "reference baseline `file`: report every service whose baseline differs from it")
	bound := fs.Duration("bound", 5*time.Second, "how long instances may hold different key sets for one issuer: the convergence window plus unknown_kid_interval")
	asJSON := fs.Bool("json", false, "print instances and drift as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "jwtguard-fleet fleet: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var ref *core.Config
	if *baseline != "" {
		cfg, err := core.LoadBaseline(*baseline)
		if err != nil {
			fmt.Fprintf(stderr, "jwtguard-fleet fleet: %v\n", err)
			return 2
		}
		ref = &cfg
	}
	nc, _, err := connect(&conn)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard-fleet fleet: %v\n", err)
		return 2
	}
	defer nc.Close()
	hbs, err := fleet.Observe(ctx, nc, *wait)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard-fleet fleet: %v\n", err)
		return 2
	}
	drift := fleet.FindDrift(hbs, ref, *bound)
	if *asJSON {
		rep := fleetReport{Instances: hbs, Drift: drift}
		if rep.Instances == nil {
			rep.Instances = []fleet.Heartbeat{}
		}
		if rep.Drift == nil {
			rep.Drift = []fleet.Drift{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		fleet.WriteReport(stdout, hbs, drift)
	}
	if len(drift) > 0 {
		return 1
	}
	return 0
}
