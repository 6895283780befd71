package core

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// remoteSource serves an issuer's JWKS fetched from jwks_url.
type remoteSource struct {
	issuer string
	url    string
	policy JWKSConfig
	algs   map[string]bool
	o      *options

	set atomic.Pointer[keySet]

	mu        sync.Mutex
	lastFetch time.Time
	fetchOK   uint64
	fetchFail uint64
	lastOK    time.Time
}

func newRemoteSource(is IssuerConfig, policy JWKSConfig, algs map[string]bool, o *options) (keySource, error) {
	s := &remoteSource{issuer: is.Issuer, url: is.JWKSURL, policy: policy, algs: algs, o: o}
	ctx, cancel := context.WithTimeout(context.Background(), policy.HTTPTimeout)
	defer cancel()
	_ = s.fetch(ctx)
	return s, nil
}

func (s *remoteSource) fetch(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastFetch = s.o.now()
	set, err := s.get(ctx)
	if err != nil {
		s.fetchFail++
		return err
	}
	s.fetchOK++
	s.lastOK = s.o.now()
	s.set.Store(set)
	return nil
}

func (s *remoteSource) get(ctx context.Context) (*keySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.o.httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	keys, err := parseJWKS(data, s.algs, s.o, s.issuer)
	if err != nil {
		return nil, err
	}
	return newKeySet(keys), nil
}

func (s *remoteSource) current() (*keySet, error) {
	set := s.set.Load()
	if set == nil {
		return nil, newError(ReasonKeysUnavailable, "no key set fetched yet")
	}
	return set, nil
}

func (s *remoteSource) unknownKID(ctx context.Context, kid string) (*keySet, error) {
	s.mu.Lock()
	wait := s.o.now().Sub(s.lastFetch) < s.policy.UnknownKIDInterval
	s.mu.Unlock()
	if !wait {
		_ = s.fetch(ctx)
	}
	return s.current()
}

func (s *remoteSource) refresh(ctx context.Context) error { return s.fetch(ctx) }
func (s *remoteSource) ready() bool                       { return s.set.Load() != nil }
func (s *remoteSource) close()                            {}
func (s *remoteSource) stats() IssuerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := IssuerStats{Issuer: s.issuer, Source: s.url, FetchOK: s.fetchOK, FetchFailed: s.fetchFail, LastSuccess: s.lastOK}
	if set := s.set.Load(); set != nil {
		st.Keys, st.KIDs, st.Fingerprint, st.Ready = len(set.all), set.kids(), set.fingerprint, true
		st.Age = s.o.now().Sub(s.lastOK)
	}
	return st
}
