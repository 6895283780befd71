package gateway

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Policy is the sample policy file, which every run serves.
const Policy = "policy.yaml"

// Service is the baseline entry the runs verify for, and Audience its
// audience in examples/baseline.yaml.
const (
	Service  = "orders"
	Audience = "orders-api"
)

// sampleIdPAddr is where examples/baseline.yaml expects the IdP.
const sampleIdPAddr = "127.0.0.1:8081"

// Baseline is examples/baseline.yaml with its IdP at idpAddr.
func Baseline(idpAddr string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(Dir(), "..", "baseline.yaml"))
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(data, []byte(sampleIdPAddr)) {
		return nil, fmt.Errorf("examples/baseline.yaml no longer names the IdP at %s", sampleIdPAddr)
	}
	return bytes.ReplaceAll(data, []byte(sampleIdPAddr), []byte(idpAddr)), nil
}

// Serve is a running `jwtguard serve`.
type Serve struct {
	*Process
	Addr     string // HTTP: /auth, /healthz, /readyz, /metrics
	GRPCAddr string // Envoy ext_authz
}

// StartServe runs `jwtguard serve` (bin) in dir on free loopback ports,
// with examples/baseline.yaml pointed at the IdP at idpAddr, for
// [Service], and the sample policy; it waits until /readyz answers 200,
// that is until the IdP's keys are loaded.
func StartServe(ctx context.Context, bin, dir, idpAddr string) (*Serve, error) {
	baseline, err := Baseline(idpAddr)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "baseline.yaml")
	if err := os.WriteFile(file, baseline, 0o644); err != nil {
		return nil, err
	}
	s := &Serve{}
	if s.Addr, err = FreeAddr(); err != nil {
		return nil, err
	}
	if s.GRPCAddr, err = FreeAddr(); err != nil {
		return nil, err
	}
	s.Process, err = Start("jwtguard serve", dir, nil, bin, "serve",
		"-config", file, "-service", Service, "-policy", filepath.Join(Dir(), Policy),
		"-addr", s.Addr, "-grpc-addr", s.GRPCAddr)
	if err != nil {
		return nil, err
	}
	if err := s.WaitHTTP(ctx, "http://"+s.Addr+"/readyz"); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}
