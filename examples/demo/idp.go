package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"text/template"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/idp"
)

// audience is the orders service's audience in every valid token, as in
// examples/baseline.yaml; service is its entry in the estate file.
const (
	audience    = "orders-api"
	serviceName = "orders"
)

//go:embed baseline.yaml.tmpl
var baselineTemplate string

// defaultBaseline fills the embedded template with the issuer and key set
// URLs of the IdP and parses it as any service parses its baseline file.
func defaultBaseline(issuer, jwksURL string) (core.Config, error) {
	data, err := renderBaseline(issuer, jwksURL)
	if err != nil {
		return core.Config{}, err
	}
	cfg, err := core.ParseBaseline(data)
	if err != nil {
		return core.Config{}, err
	}
	return cfg.ForService(serviceName)
}

// renderBaseline is the baseline file the services of the demo load.
func renderBaseline(issuer, jwksURL string) ([]byte, error) {
	tmpl, err := template.New("baseline").Option("missingkey=error").Parse(baselineTemplate)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, map[string]string{"Issuer": issuer, "JWKSURL": jwksURL}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// serveIdP is the -idp mode: the IdP alone, without rotation, for running
// the examples by hand against examples/baseline.yaml.
func serveIdP(done <-chan struct{}, addr string, out io.Writer) error {
	p, err := idp.Start(addr, audience, time.Now)
	if err != nil {
		return err
	}
	defer p.Close()
	base := p.Issuer()
	fmt.Fprintf(out, `identity provider for the examples (loopback only; it authenticates no one)
  issuer    %s
  key set   %s
  tokens    %stoken?sub=alice&scope=read+admin   (also scp=admin, aud=..., ttl=-1h)

Run an example against examples/baseline.yaml, then for instance:
  TOKEN=$(curl -s '%stoken?scope=admin')
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/admin

Ctrl-C stops it.
`, base, p.JWKSURL(), base, base)
	<-done
	return nil
}
