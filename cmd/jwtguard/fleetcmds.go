package main

// The commands that speak to the fleet's NATS bus: revoke, fleet and
// publish. They are this module's, with the fleet module, so that the root
// module and the services that use no bus need no NATS client.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fleet"
)

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
	nc, err := nats.Connect(conn.URL, append([]nats.Option{nats.Name("jwtguard"), nats.Timeout(5 * time.Second)}, opts...)...)
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

func revokeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
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
		fmt.Fprintf(stderr, "jwtguard revoke: unexpected argument %q\n", fs.Arg(0))
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
		fmt.Fprintln(stderr, "jwtguard revoke: -list takes no -kid, -jti, -sub, -ttl or -delete")
		return 2
	case !*list && named != 1:
		fmt.Fprintln(stderr, "jwtguard revoke: give exactly one of -kid, -jti and -sub")
		return 2
	case !*list && !*del && *ttl <= 0:
		fmt.Fprintln(stderr, "jwtguard revoke: -ttl is required, e.g. -ttl 1h")
		return 2
	case *del && *ttl != 0:
		fmt.Fprintln(stderr, "jwtguard revoke: -delete takes no -ttl")
		return 2
	}
	nc, js, err := connect(&conn)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard revoke: %v\n", err)
		return 2
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	switch {
	case *list:
		entries, err := fleet.Revocations(ctx, js)
		if err != nil {
			fmt.Fprintf(stderr, "jwtguard revoke: %v\n", err)
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
			fmt.Fprintf(stderr, "jwtguard revoke: %v\n", err)
			return 2
		}
		if !found {
			fmt.Fprintf(stderr, "jwtguard revoke: no revocation of %s\n", r)
			return 1
		}
		fmt.Fprintf(stdout, "deleted the revocation of %s\n", r)
		return 0
	}
	host, _ := os.Hostname()
	r.Created, r.Expires, r.By = time.Now().UTC(), time.Now().Add(*ttl).UTC(), host
	if err := fleet.Revoke(ctx, js, r, *maxEntries); err != nil {
		fmt.Fprintf(stderr, "jwtguard revoke: %v\n", err)
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
		fmt.Fprintf(stderr, "jwtguard fleet: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var ref *core.Config
	if *baseline != "" {
		cfg, err := core.LoadBaseline(*baseline)
		if err != nil {
			fmt.Fprintf(stderr, "jwtguard fleet: %v\n", err)
			return 2
		}
		ref = &cfg
	}
	nc, _, err := connect(&conn)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard fleet: %v\n", err)
		return 2
	}
	defer nc.Close()
	hbs, err := fleet.Observe(ctx, nc, *wait)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard fleet: %v\n", err)
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

// publish lints a baseline file and writes it to a key-value entry, for
// the services that follow the entry (-config-kv BUCKET/KEY). A baseline
// with errors is not written: every error is printed as lint prints it.
func publish(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn fleet.ConnFlags
	conn.Register(fs)
	bucket := fs.String("bucket", "", "the key-value `bucket` the services read (created if missing)")
	key := fs.String("key", "", "the `key` of the entry in the bucket")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *bucket == "" || *key == "" {
		fmt.Fprint(stderr, "usage: jwtguard publish -nats URL -bucket BUCKET -key KEY baseline.yaml\n")
		return 2
	}
	file := fs.Arg(0)
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard publish: %v\n", err)
		return 2
	}
	refuse := func(errs []*core.ConfigError) int {
		for _, e := range errs {
			printProblem(stdout, file, "error", e.Key, e.Line, e.Msg)
		}
		fmt.Fprintf(stderr, "jwtguard publish: %s has %d error(s); nothing published\n", file, len(errs))
		return 1
	}
	// Lint before dialling too: a baseline with errors is refused the
	// same with no bus at all.
	if lint := core.LintBaseline(data); len(lint.Errors) > 0 {
		return refuse(lint.Errors)
	}
	nc, js, err := connect(&conn)
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard publish: %v\n", err)
		return 2
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	p, err := fleet.PublishBaseline(ctx, js, *bucket, *key, data)
	var refused *fleet.LintError
	if errors.As(err, &refused) {
		return refuse(refused.Errors)
	}
	if err != nil {
		fmt.Fprintf(stderr, "jwtguard publish: %v\n", err)
		return 2
	}
	for _, w := range p.Warnings {
		printProblem(stdout, file, "warning", w.Key, w.Line, w.Msg)
	}
	if p.Created {
		fmt.Fprintf(stdout, "created bucket %s\n", p.Bucket)
	}
	fmt.Fprintf(stdout, "published %s to bucket %s key %s, revision %d\n", file, p.Bucket, p.Key, p.Revision)
	if p.Fingerprint != "" {
		fmt.Fprintf(stdout, "fingerprint %s\n", p.Fingerprint)
	}
	for _, s := range p.Services {
		fmt.Fprintf(stdout, "service %s %s\n", s.Service, s.Fingerprint)
	}
	fmt.Fprintf(stdout, "shared %s\n", p.SharedFingerprint)
	return 0
}
