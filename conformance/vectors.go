package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// vectorSchema names the version of vectors.json; MATRIX.md documents it.
// A change a consumer must know about gets a new version.
const vectorSchema = "jwtguard-conformance-vectors/3"

// strayHost is where the recorded tokens' jku and x5u URLs point, so that
// the file is the same on every run. Nothing is served there.
const strayHost = "https://attacker.example.test"

// vectorFile is vectors.json: the matrix as data, for test suites in any
// language.
type vectorFile struct {
	Schema  string                     `json:"schema"`
	About   string                     `json:"about"`
	KeySets map[string]json.RawMessage `json:"key_sets"`
	Cases   []vector                   `json:"cases"`
}

type vector struct {
	Name     string         `json:"name"`
	Group    string         `json:"group"`
	Rule     string         `json:"rule"`
	Source   string         `json:"source"`
	Baseline vectorBaseline `json:"baseline"`
	// JWKS names the key set served when the verifier starts; null when
	// the key set URL answers 503 from the start.
	JWKS     *string        `json:"jwks"`
	Now      int64          `json:"now"`
	Steps    []step         `json:"steps,omitempty"`
	Route    vectorRoute    `json:"route"`
	Token    string         `json:"token,omitempty"`
	Request  *vectorRequest `json:"request,omitempty"`
	Expected vectorExpected `json:"expected"`
}

type vectorBaseline struct {
	Issuer                    string   `json:"issuer"`
	Tenants                   []string `json:"tenants"`
	Audiences                 []string `json:"audiences"`
	AudienceClaim             string   `json:"audience_claim"`
	Algorithms                []string `json:"algorithms"`
	LeewaySeconds             int64    `json:"leeway_seconds"`
	RequiredClaims            []string `json:"required_claims"`
	TokenTypes                []string `json:"token_types"`
	RefuseIDTokens            bool     `json:"refuse_id_tokens"`
	InsecureSkipAudience      bool     `json:"insecure_skip_audience"`
	MaxTokenBytes             int      `json:"max_token_bytes"`
	QueryParameter            string   `json:"query_parameter"`
	UnknownKIDIntervalSeconds int64    `json:"unknown_kid_interval_seconds"`
	MaxStaleSeconds           int64    `json:"max_stale_seconds"`
}

type vectorRoute struct {
	Scopes  []string      `json:"scopes,omitempty"`
	Policy  *vectorPolicy `json:"policy,omitempty"`
	Roles   []roleCheck   `json:"roles,omitempty"`
	Skipped bool          `json:"skipped,omitempty"`
	// Optional: a request without credentials passes, without claims.
	Optional bool `json:"optional,omitempty"`
}

type vectorPolicy struct {
	Claim  string `json:"claim"`
	Equals string `json:"equals"`
}

// tenantPolicy is tenantAcme as data: the matrix's one policy.
var tenantPolicy = &vectorPolicy{Claim: "tenant", Equals: "acme"}

type vectorRequest struct {
	Headers map[string][]string `json:"headers,omitempty"`
	Query   map[string][]string `json:"query,omitempty"`
}

type vectorExpected struct {
	Verdict     Outcome     `json:"verdict"`
	Reason      core.Reason `json:"reason,omitempty"`
	HTTPStatus  int         `json:"http_status"`
	BearerError string      `json:"bearer_error,omitempty"`
	Scope       []string    `json:"scope,omitempty"`
	GRPCCode    int         `json:"grpc_code"`
	Subject     *string     `json:"subject,omitempty"`
}

// step is one thing a case's setup did after the verifier started.
type step struct {
	Op      string  `json:"op"`
	JWKS    string  `json:"jwks,omitempty"`
	Seconds int64   `json:"seconds,omitempty"`
	Token   string  `json:"token,omitempty"`
	Expect  Outcome `json:"expect,omitempty"`

	keys json.RawMessage // the key set of a "jwks" step, named later
}

// recording is what a case's setup did, in the terms of the vectors file.
// Its methods do nothing on a nil recording, as when no file is written.
type recording struct {
	jwks  json.RawMessage // the key set at start; nil when it fails from the start
	steps []step
}

func (r *recording) add(s step) {
	if r != nil {
		r.steps = append(r.steps, s)
	}
}

// keysChanged records the key set the IdP serves now, at the start or as
// a step.
func (r *recording) keysChanged(e *env) error {
	if r == nil {
		return nil
	}
	keys, err := fetchKeys(e.idp.JWKSURL())
	if err != nil {
		return err
	}
	if e.v == nil {
		r.jwks = keys
		return nil
	}
	r.add(step{Op: "jwks", keys: keys})
	return nil
}

func (r *recording) failed(e *env) {
	if r == nil {
		return
	}
	if e.v == nil {
		r.jwks = nil
		return
	}
	r.add(step{Op: "jwks_fails"})
}

// fetchKeys reads the key set an in-process IdP serves, compacted.
func fetchKeys(url string) (json.RawMessage, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("key set: HTTP %d", resp.StatusCode)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, body); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// vectors is the contents of vectors.json: every case set up in process,
// as it is for an adapter, its setup recorded and its request built but
// not sent.
func vectors() ([]byte, error) {
	keys := matrixKeys()
	f := vectorFile{
		Schema: vectorSchema,
		About: "The jwtguard conformance matrix as data: for each case a baseline, a key set, a clock, " +
			"the request and the verdict a verifier must give. Generated by go generate ./conformance; " +
			"MATRIX.md documents the schema. The keys are public: never trust them outside a test.",
		KeySets: map[string]json.RawMessage{},
	}
	names := &keySetNames{}
	for i := range cases {
		c := &cases[i]
		v, err := record(keys, c, names)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		f.Cases = append(f.Cases, v)
	}
	for name, set := range names.sets {
		f.KeySets[name] = set
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// record sets up one case and writes it as a vector.
func record(keys *keyring, c *testCase, names *keySetNames) (vector, error) {
	rec := &recording{}
	e, _, stop, err := setUp(keys, c, nil, rec)
	defer stop()
	if err != nil {
		return vector{}, err
	}
	cfg := e.v.Config()
	req := c.build(e)
	v := vector{
		Name: c.name, Group: c.group, Rule: c.explanation, Source: c.source,
		Baseline: vectorBaseline{
			Issuer:                    cfg.Issuers[0].Issuer,
			Tenants:                   nonNil(cfg.Issuers[0].Tenants),
			Audiences:                 cfg.Audiences,
			AudienceClaim:             cfg.AudienceClaim,
			Algorithms:                cfg.Algorithms,
			LeewaySeconds:             int64(cfg.Leeway / time.Second),
			RequiredClaims:            nonNil(cfg.RequiredClaims),
			TokenTypes:                nonNil(cfg.TokenTypes),
			RefuseIDTokens:            cfg.RefuseIDTokens,
			InsecureSkipAudience:      cfg.InsecureSkipAudience,
			MaxTokenBytes:             cfg.MaxTokenBytes,
			QueryParameter:            cfg.TokenSources.Query,
			UnknownKIDIntervalSeconds: int64(cfg.JWKS.UnknownKIDInterval / time.Second),
			MaxStaleSeconds:           int64(cfg.JWKS.MaxStale / time.Second),
		},
		Now:   epoch.Unix(),
		Route: vectorRoute{Scopes: c.scopes, Skipped: c.skipped, Optional: c.optional},
	}
	if rec.jwks != nil {
		name := names.of(rec.jwks)
		v.JWKS = &name
	}
	for _, s := range rec.steps {
		if s.keys != nil {
			s.JWKS = names.of(s.keys)
		}
		v.Steps = append(v.Steps, s)
	}
	switch {
	case c.roles != nil:
		v.Route.Roles = c.roles
	case c.policy != nil:
		v.Route.Policy = tenantPolicy
	}
	if auth := req.Header.Values("Authorization"); c.request == nil && len(auth) == 1 && len(req.Query) == 0 {
		v.Token = strings.TrimPrefix(auth[0], "Bearer ")
	} else {
		v.Request = &vectorRequest{Headers: req.Header, Query: req.Query}
	}
	info := core.ReasonInfo{HTTPStatus: http.StatusOK}
	if c.reason != "" {
		info = c.reason.Info()
	}
	v.Expected = vectorExpected{Verdict: c.want, Reason: c.reason, HTTPStatus: info.HTTPStatus,
		BearerError: info.BearerCode, GRPCCode: info.GRPCCode}
	if c.reason == core.ReasonInsufficientScope {
		v.Expected.Scope = c.missing
		if v.Expected.Scope == nil {
			v.Expected.Scope = c.scopes
		}
	}
	if c.want == Accept {
		subject := c.wantSubject()
		v.Expected.Subject = &subject
	}
	return v, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// keySetNames names the distinct key sets of the file by how they differ
// from the standard one: "standard", "standard+ec-2", "standard-ec-1", or
// their kids when they differ more.
type keySetNames struct {
	sets map[string]json.RawMessage
}

func (n *keySetNames) of(set json.RawMessage) string {
	if n.sets == nil {
		n.sets = map[string]json.RawMessage{}
	}
	for name, s := range n.sets {
		if bytes.Equal(s, set) {
			return name
		}
	}
	name := n.describe(set)
	for suffix := 2; n.sets[name] != nil; suffix++ {
		name = fmt.Sprintf("%s (%d)", n.describe(set), suffix)
	}
	n.sets[name] = set
	return name
}

func (n *keySetNames) describe(set json.RawMessage) string {
	kids := kidsOf(set)
	std := kidsOf(n.sets["standard"])
	if std == nil {
		return "standard" // the first case's set
	}
	var diff []string
	for _, k := range kids {
		if !slices.Contains(std, k) {
			diff = append(diff, "+"+k)
		}
	}
	for _, k := range std {
		if !slices.Contains(kids, k) {
			diff = append(diff, "-"+k)
		}
	}
	if len(diff) > 2 {
		return strings.Join(kids, ",")
	}
	return "standard" + strings.Join(diff, "")
}

func kidsOf(set json.RawMessage) []string {
	if set == nil {
		return nil
	}
	var s struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	json.Unmarshal(set, &s)
	kids := []string{}
	for _, k := range s.Keys {
		kids = append(kids, k.KID)
	}
	return kids
}
