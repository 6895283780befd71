package fleet

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jwtguard/jwtguard/core"
)

// baselineHistory is how many revisions of a baseline entry a bucket made
// by PublishBaseline keeps: enough to see what was published before, and
// to publish it again.
const baselineHistory = 10

// baselineBucketConfig is the configuration of a bucket PublishBaseline
// creates. In a cluster, create it with three replicas beforehand.
func baselineBucketConfig(bucket string) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:       bucket,
		Description:  "jwtguard baselines (jwtguard publish)",
		History:      baselineHistory,
		MaxValueSize: maxBaselineBytes,
		Storage:      jetstream.FileStorage,
	}
}

// Published is what [PublishBaseline] wrote.
type Published struct {
	Bucket, Key string
	// Revision is the entry's revision in the bucket.
	Revision uint64
	// Created says the bucket did not exist and was created.
	Created bool
	// Fingerprint is the baseline's effective fingerprint, the one its
	// services report; empty for an estate file, whose services each have
	// their own (Services).
	Fingerprint string
	// SharedFingerprint is the fingerprint of the policy every service of
	// the file shares ([core.Config.SharedFingerprint]).
	SharedFingerprint string
	// Services are an estate file's services with their effective
	// fingerprints, in file order.
	Services []ServiceFingerprint
	// Warnings are the baseline's legal but risky settings, as
	// [core.LintBaseline] finds them.
	Warnings []core.Warning
}

// ServiceFingerprint is one service of a published estate file.
type ServiceFingerprint struct {
	Service, Fingerprint string
}

// LintError is the error of PublishBaseline for a baseline with errors:
// nothing was written.
type LintError struct {
	// Errors are every error core.LintBaseline found, each with its key
	// and line.
	Errors []*core.ConfigError
}

func (e *LintError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, p := range e.Errors {
		parts[i] = p.Error()
	}
	return "fleet: baseline not published:\n" + strings.Join(parts, "\n")
}

// Unwrap lets errors.As and core.ConfigErrors find each problem.
func (e *LintError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, p := range e.Errors {
		out[i] = p
	}
	return out
}

// PublishBaseline writes the baseline data to the entry key of bucket,
// for the services that follow it ([OpenBaseline]). It lints data first
// ([core.LintBaseline]) and writes nothing when it has errors (a
// *LintError): a baseline a service would refuse never reaches the bus. It
// creates the bucket when it does not exist. A request lost while a
// cluster changes leaders is sent again until ctx ends; publishing twice
// is harmless.
func PublishBaseline(ctx context.Context, js jetstream.JetStream, bucket, key string, data []byte) (Published, error) {
	p := Published{Bucket: bucket, Key: key}
	if len(data) > maxBaselineBytes {
		return p, &LintError{Errors: []*core.ConfigError{{Key: "(file)", Msg: fmt.Sprintf("larger than %d bytes", maxBaselineBytes)}}}
	}
	lint := core.LintBaseline(data)
	if len(lint.Errors) > 0 {
		return p, &LintError{Errors: lint.Errors}
	}
	p.Warnings = lint.Warnings
	if len(lint.Services) == 0 {
		p.Fingerprint, p.SharedFingerprint = lint.Config.Fingerprint(), lint.Config.SharedFingerprint()
	}
	for _, s := range lint.Services {
		p.Services = append(p.Services, ServiceFingerprint{s.Service, s.Fingerprint()})
		p.SharedFingerprint = s.SharedFingerprint()
	}
	err := retrying(ctx, func(ctx context.Context) error {
		kv, created, err := openBucket(ctx, js, baselineBucketConfig(bucket))
		if err != nil {
			return err
		}
		p.Created = p.Created || created
		p.Revision, err = kv.Put(ctx, key, data)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("fleet: publishing to bucket %q key %q: %w", bucket, key, err)
	}
	return p, nil
}
