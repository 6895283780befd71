package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jwtguard/jwtguard/core"
)

// Heartbeat is what an instance publishes on SubjectHeartbeat: who it is,
// the baseline it verifies with (a summary: nothing secret) and the key
// sets it holds. jwtguard fleet reads them to find drift.
type Heartbeat struct {
	Service  string    `json:"service"`
	Instance string    `json:"instance"`
	Host     string    `json:"host"`
	Version  string    `json:"version,omitempty"`
	Sent     time.Time `json:"sent"`
	// Fingerprint and SharedFingerprint are the baseline's
	// (core.Config.Fingerprint, core.Config.SharedFingerprint).
	Fingerprint       string `json:"fingerprint"`
	SharedFingerprint string `json:"shared_fingerprint"`
	// Baseline is the effective baseline, one value per baseline key
	// (Summary).
	Baseline    map[string]string `json:"baseline"`
	Keys        []IssuerKeys      `json:"keys"`
	Ready       bool              `json:"ready"`
	Revocations int               `json:"revocations"`
	Bus         Stats             `json:"bus"`

	// Received is when the observer received it, on the observer's clock.
	Received time.Time `json:"received"`
}

// IssuerKeys is an instance's key set for one issuer. Ages are measured on
// the instance's clock at Sent, so an observer needs no synchronized clock.
type IssuerKeys struct {
	Issuer      string   `json:"issuer"`
	Fingerprint string   `json:"fingerprint"`
	KIDs        []string `json:"kids"`
	// Age is the time since the last successful fetch; SetAge the time
	// since the set last changed here (its first load included).
	Age    Duration `json:"age"`
	SetAge Duration `json:"set_age"`
	Ready  bool     `json:"ready"`
}

// Duration is a time.Duration written as a string ("1m30s") in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Summary describes the baseline cfg (give it cfg.Effective(), or a
// verifier's Config(), for the values in force), one entry per baseline
// key, the values written as a reader compares them: "30s", "[RS256
// PS256]". It holds what the fingerprint covers, except the contents of
// inline key sets, which it names only by hash.
func Summary(cfg core.Config) map[string]string {
	list := func(v []string) string {
		v = slices.Clone(v)
		slices.Sort(v)
		return "[" + strings.Join(v, " ") + "]"
	}
	m := map[string]string{
		"audiences":                 list(cfg.Audiences),
		"algorithms":                list(cfg.Algorithms),
		"leeway":                    shortDuration(cfg.Leeway),
		"required_claims":           list(cfg.RequiredClaims),
		"token_types":               list(cfg.TokenTypes),
		"max_token_bytes":           fmt.Sprint(cfg.MaxTokenBytes),
		"jwks.refresh_interval":     shortDuration(cfg.JWKS.RefreshInterval),
		"jwks.unknown_kid_interval": shortDuration(cfg.JWKS.UnknownKIDInterval),
		"jwks.max_stale":            shortDuration(cfg.JWKS.MaxStale),
		"jwks.http_timeout":         shortDuration(cfg.JWKS.HTTPTimeout),
		"jwks.convergence_window":   shortDuration(cfg.JWKS.ConvergenceWindow),
		"cache.max_ttl":             shortDuration(cfg.Cache.MaxTTL),
		"token_sources.cookie":      cfg.TokenSources.Cookie,
		"token_sources.query":       cfg.TokenSources.Query,
		"insecure_skip_audience":    fmt.Sprint(cfg.InsecureSkipAudience),
		"insecure_http_jwks":        fmt.Sprint(cfg.InsecureHTTPJWKS),
	}
	if cfg.Cache.MaxEntries != nil {
		m["cache.max_entries"] = fmt.Sprint(*cfg.Cache.MaxEntries)
	}
	if cfg.RefuseIDTokens {
		// As in the fingerprint: only when set, so that replicas of
		// versions before the key describe an unchanged baseline alike.
		m["refuse_id_tokens"] = "true"
	}
	if cfg.AudienceClaim != "" && cfg.AudienceClaim != core.AudienceClaimAud {
		m["audience_claim"] = cfg.AudienceClaim // likewise
	}
	var names []string
	for _, is := range cfg.Issuers {
		names = append(names, is.Issuer)
		src := "public keys"
		switch {
		case is.JWKSURL != "":
			src = "jwks_url " + is.JWKSURL
		case is.JWKSFile != "":
			src = "jwks_file " + is.JWKSFile
		case is.JWKSInline != "":
			src = "jwks_inline"
		}
		m["issuers["+is.Issuer+"]"] = src
	}
	m["issuers"] = list(names)
	var devs []string
	for _, d := range cfg.Deviations {
		devs = append(devs, d.Key+"="+d.Value)
	}
	m["deviations"] = list(devs)
	return m
}

// shortDuration writes 5m rather than 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// heartbeat describes the attached verifier now.
func (f *Fleet) heartbeat(v *core.Verifier) Heartbeat {
	cfg := v.Config()
	now := time.Now()
	service := f.opts.Service
	if service == "" {
		service = cfg.Service
	}
	hb := Heartbeat{Service: service, Instance: f.opts.Instance, Host: f.host, Version: f.opts.Version, Sent: now,
		Fingerprint: cfg.Fingerprint(), SharedFingerprint: cfg.SharedFingerprint(), Baseline: Summary(cfg),
		Ready: v.Ready(), Revocations: f.list.len(), Bus: f.Stats()}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, st := range v.Stats() {
		k := IssuerKeys{Issuer: st.Issuer, Fingerprint: st.Fingerprint, KIDs: st.KIDs, Age: Duration(st.Age), Ready: st.Ready}
		if at, ok := f.changedAt[st.Issuer]; ok {
			k.SetAge = Duration(now.Sub(at))
		}
		hb.Keys = append(hb.Keys, k)
	}
	return hb
}

// heartbeatLoop publishes a heartbeat every interval (with ±10% jitter, so
// a fleet started together does not publish in step) and on a ping, at
// most once per pingInterval for pings.
func (f *Fleet) heartbeatLoop(pings <-chan *nats.Msg) {
	select {
	case <-f.ctx.Done():
		return
	case <-f.attached:
	}
	f.publishHeartbeat()
	var lastPing time.Time
	interval := f.opts.HeartbeatInterval
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-pings:
			if time.Since(lastPing) < pingInterval {
				continue
			}
			lastPing = time.Now()
		case <-t.C:
			t.Reset(interval + time.Duration((rand.Float64()*0.2-0.1)*float64(interval)))
		}
		f.publishHeartbeat()
	}
}

func (f *Fleet) publishHeartbeat() {
	data, err := json.Marshal(f.heartbeat(f.verifier.Load()))
	if err != nil {
		return
	}
	if err := f.nc.Publish(SubjectHeartbeat, data); err != nil {
		f.logger.Debug("jwtguard fleet heartbeat not sent", slog.String("error", err.Error()))
		return
	}
	f.heartbeats.Add(1)
}

// Observe collects heartbeats for wait, after asking every instance for
// one (SubjectPing), and returns the latest of each instance, sorted by
// service and instance.
func Observe(ctx context.Context, nc *nats.Conn, wait time.Duration) ([]Heartbeat, error) {
	msgs := make(chan *nats.Msg, 4096)
	sub, err := nc.ChanSubscribe(SubjectHeartbeat, msgs)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := nc.Publish(SubjectPing, nil); err != nil {
		return nil, err
	}
	fctx, cancel := context.WithTimeout(ctx, busTimeout)
	err = nc.FlushWithContext(fctx)
	cancel()
	if err != nil {
		return nil, err
	}
	latest := map[string]Heartbeat{}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			out := make([]Heartbeat, 0, len(latest))
			for _, hb := range latest {
				out = append(out, hb)
			}
			slices.SortFunc(out, func(a, b Heartbeat) int {
				return strings.Compare(a.Service+"\n"+a.Instance, b.Service+"\n"+b.Instance)
			})
			return out, nil
		case m := <-msgs:
			var hb Heartbeat
			if json.Unmarshal(m.Data, &hb) != nil || hb.Instance == "" {
				continue
			}
			hb.Received = time.Now()
			if old, ok := latest[hb.Instance]; !ok || !hb.Sent.Before(old.Sent) {
				latest[hb.Instance] = hb
			}
		}
	}
}
