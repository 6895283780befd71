package gateways_test

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	headermutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpoptionsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/jwtguard/jwtguard/examples/internal/gateway"
)

// The typed configs the samples name: importing their packages registers
// them, so that the bootstrap's Any fields resolve.
var (
	_ = (*routerv3.Router)(nil)
	_ = (*httpoptionsv3.HttpProtocolOptions)(nil)
)

// validator is what protoc-gen-validate generates on every Envoy message.
type validator interface{ ValidateAll() error }

// loadEnvoy reads a sample as Envoy does: YAML, as the JSON mapping of the
// bootstrap proto. Unknown fields are errors, and so is every rule of
// Envoy's own validation, on the bootstrap and on each typed config.
func loadEnvoy(t *testing.T, name string) *bootstrapv3.Bootstrap {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(gateway.Dir(), name))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		t.Fatalf("%s is not an Envoy bootstrap: %v", name, err)
	}
	if err := b.ValidateAll(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &b
}

// envoyFilters returns the HTTP filters of the sample's one listener, with
// their typed configs resolved and validated, by name.
func envoyFilters(t *testing.T, b *bootstrapv3.Bootstrap) ([]string, map[string]proto.Message) {
	t.Helper()
	listeners := b.GetStaticResources().GetListeners()
	if len(listeners) != 1 {
		t.Fatalf("%d listeners, want 1", len(listeners))
	}
	l := listeners[0]
	if got := hostPort(l.GetAddress().GetSocketAddress().GetAddress(), l.GetAddress().GetSocketAddress().GetPortValue()); got != gateway.GatewayAddr {
		t.Errorf("listener on %s, want %s", got, gateway.GatewayAddr)
	}
	chains := l.GetFilterChains()
	if len(chains) != 1 || len(chains[0].GetFilters()) != 1 {
		t.Fatalf("want one filter chain with one network filter")
	}
	var hcm hcmv3.HttpConnectionManager
	if err := chains[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		t.Fatalf("network filter: %v", err)
	}
	if err := hcm.ValidateAll(); err != nil {
		t.Fatalf("http_connection_manager: %v", err)
	}
	// Every request goes to the application, after the filters.
	for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
		for _, r := range vh.GetRoutes() {
			if c := r.GetRoute().GetCluster(); c != "app" {
				t.Errorf("route %v goes to cluster %q, want app", r.GetMatch(), c)
			}
		}
	}
	var names []string
	configs := map[string]proto.Message{}
	for _, f := range hcm.GetHttpFilters() {
		m, err := f.GetTypedConfig().UnmarshalNew()
		if err != nil {
			t.Fatalf("filter %s: %v", f.GetName(), err)
		}
		if v, ok := m.(validator); ok {
			if err := v.ValidateAll(); err != nil {
				t.Fatalf("filter %s: %v", f.GetName(), err)
			}
		}
		names = append(names, f.GetName())
		configs[f.GetName()] = m
	}
	return names, configs
}

func hostPort(host string, port uint32) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// clusterAddr is the one endpoint of a static cluster.
func clusterAddr(t *testing.T, b *bootstrapv3.Bootstrap, name string) (string, *clusterv3.Cluster) {
	t.Helper()
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() != name {
			continue
		}
		eps := c.GetLoadAssignment().GetEndpoints()
		if len(eps) != 1 || len(eps[0].GetLbEndpoints()) != 1 {
			t.Fatalf("cluster %s: want one endpoint", name)
		}
		sa := eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
		return hostPort(sa.GetAddress(), sa.GetPortValue()), c
	}
	t.Fatalf("no cluster %s", name)
	return "", nil
}

// exactNames are the header names a list matcher matches exactly,
// canonical and sorted; any other kind of pattern fails the test, as one
// could let more through than the test sees.
func exactNames(t *testing.T, what string, m *matcherv3.ListStringMatcher) []string {
	t.Helper()
	var names []string
	for _, p := range m.GetPatterns() {
		e := p.GetExact()
		if e == "" {
			t.Errorf("%s: pattern %v is not an exact name", what, p)
			continue
		}
		names = append(names, http.CanonicalHeaderKey(e))
	}
	slices.Sort(names)
	return names
}

// checkStripsAuthHeaders asserts the header_mutation filter runs before
// ext_authz and removes every client header jwtguard sets.
func checkStripsAuthHeaders(t *testing.T, names []string, configs map[string]proto.Message, want []string) {
	t.Helper()
	const mutation, authz, router = "envoy.filters.http.header_mutation", "envoy.filters.http.ext_authz", "envoy.filters.http.router"
	if !slices.Equal(names, []string{mutation, authz, router}) {
		t.Fatalf("http filters %q, want %q", names, []string{mutation, authz, router})
	}
	hm, ok := configs[mutation].(*headermutationv3.HeaderMutation)
	if !ok {
		t.Fatalf("%s: typed config %T", mutation, configs[mutation])
	}
	var prefixes []string
	for _, m := range hm.GetMutations().GetRequestMutations() {
		if p := m.GetRemoveOnMatch().GetKeyMatcher().GetPrefix(); p != "" {
			prefixes = append(prefixes, p)
		}
	}
	for _, h := range want {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(strings.ToLower(h), p) }) {
			t.Errorf("%s: a client's %s is not removed (prefixes %q)", mutation, h, prefixes)
		}
	}
}

func TestEnvoyConfigs(t *testing.T) {
	want := upstreamHeaders(t)
	tests := []struct {
		file  string
		check func(t *testing.T, b *bootstrapv3.Bootstrap, authz *extauthzv3.ExtAuthz)
	}{
		{"envoy-http.yaml", func(t *testing.T, b *bootstrapv3.Bootstrap, authz *extauthzv3.ExtAuthz) {
			hs := authz.GetHttpService()
			if hs == nil {
				t.Fatal("ext_authz has no http_service")
			}
			if p := hs.GetPathPrefix(); p != "/auth" {
				t.Errorf("path_prefix %q, want /auth", p)
			}
			cluster := hs.GetServerUri().GetCluster()
			if addr, _ := clusterAddr(t, b, cluster); addr != gateway.ServeAddr {
				t.Errorf("ext_authz cluster %s is %s, want jwtguard serve at %s", cluster, addr, gateway.ServeAddr)
			}
			resp := hs.GetAuthorizationResponse()
			if got := exactNames(t, "allowed_upstream_headers", resp.GetAllowedUpstreamHeaders()); !slices.Equal(got, want) {
				t.Errorf("allowed_upstream_headers %q, want %q", got, want)
			}
			if got := exactNames(t, "allowed_client_headers", resp.GetAllowedClientHeaders()); !slices.Contains(got, "Www-Authenticate") {
				t.Errorf("allowed_client_headers %q: a refusal loses its challenge", got)
			}
		}},
		{"envoy-grpc.yaml", func(t *testing.T, b *bootstrapv3.Bootstrap, authz *extauthzv3.ExtAuthz) {
			gs := authz.GetGrpcService()
			if gs == nil {
				t.Fatal("ext_authz has no grpc_service")
			}
			cluster := gs.GetEnvoyGrpc().GetClusterName()
			addr, c := clusterAddr(t, b, cluster)
			if addr != gateway.ServeGRPCAddr {
				t.Errorf("ext_authz cluster %s is %s, want jwtguard serve -grpc-addr %s", cluster, addr, gateway.ServeGRPCAddr)
			}
			const optionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
			var opts httpoptionsv3.HttpProtocolOptions
			if err := c.GetTypedExtensionProtocolOptions()[optionsKey].UnmarshalTo(&opts); err != nil {
				t.Fatalf("cluster %s: %s: %v", cluster, optionsKey, err)
			}
			if opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
				t.Errorf("cluster %s does not speak HTTP/2: gRPC needs it", cluster)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := loadEnvoy(t, tt.file)
			names, configs := envoyFilters(t, b)
			checkStripsAuthHeaders(t, names, configs, want)
			authz, ok := configs["envoy.filters.http.ext_authz"].(*extauthzv3.ExtAuthz)
			if !ok {
				t.Fatalf("ext_authz typed config %T", configs["envoy.filters.http.ext_authz"])
			}
			if authz.GetFailureModeAllow() {
				t.Error("failure_mode_allow: an unreachable jwtguard would let every request through")
			}
			if addr, _ := clusterAddr(t, b, "app"); addr != gateway.AppAddr {
				t.Errorf("cluster app is %s, want %s", addr, gateway.AppAddr)
			}
			tt.check(t, b, authz)
		})
	}
}
