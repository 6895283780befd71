package gateways_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/jwtguard/jwtguard/examples/internal/gateway"
)

// The fields of Traefik's configuration the samples use. Decoding is
// strict: a field not here, a misspelt one above all, fails the test.
type traefikStatic struct {
	EntryPoints map[string]struct {
		Address string `yaml:"address"`
	} `yaml:"entryPoints"`
	Providers struct {
		File struct {
			Filename string `yaml:"filename"`
		} `yaml:"file"`
	} `yaml:"providers"`
}

type traefikDynamic struct {
	HTTP struct {
		Routers map[string]struct {
			EntryPoints []string `yaml:"entryPoints"`
			Rule        string   `yaml:"rule"`
			Middlewares []string `yaml:"middlewares"`
			Service     string   `yaml:"service"`
		} `yaml:"routers"`
		Middlewares map[string]struct {
			Headers *struct {
				CustomRequestHeaders map[string]string `yaml:"customRequestHeaders"`
			} `yaml:"headers"`
			ForwardAuth *struct {
				Address             string   `yaml:"address"`
				TrustForwardHeader  bool     `yaml:"trustForwardHeader"`
				AuthRequestHeaders  []string `yaml:"authRequestHeaders"`
				AuthResponseHeaders []string `yaml:"authResponseHeaders"`
			} `yaml:"forwardAuth"`
		} `yaml:"middlewares"`
		Services map[string]struct {
			LoadBalancer struct {
				Servers []struct {
					URL string `yaml:"url"`
				} `yaml:"servers"`
			} `yaml:"loadBalancer"`
		} `yaml:"services"`
	} `yaml:"http"`
}

func decodeStrict(t *testing.T, name string, out any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(gateway.Dir(), name))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestTraefikConfig(t *testing.T) {
	want := upstreamHeaders(t)

	var static traefikStatic
	decodeStrict(t, "traefik.yaml", &static)
	web, ok := static.EntryPoints["web"]
	if !ok || web.Address != gateway.GatewayAddr {
		t.Errorf("entry point web at %q, want %s", web.Address, gateway.GatewayAddr)
	}
	dynamicFile := static.Providers.File.Filename
	if _, err := os.Stat(filepath.Join(gateway.Dir(), dynamicFile)); err != nil {
		t.Fatalf("providers.file.filename: %v", err)
	}

	var dyn traefikDynamic
	decodeStrict(t, dynamicFile, &dyn)
	router, ok := dyn.HTTP.Routers["app"]
	if !ok {
		t.Fatal("no router app")
	}
	if !slices.Equal(router.EntryPoints, []string{"web"}) {
		t.Errorf("router app on entry points %q, want [web]", router.EntryPoints)
	}
	svc, ok := dyn.HTTP.Services[router.Service]
	if !ok || len(svc.LoadBalancer.Servers) != 1 || svc.LoadBalancer.Servers[0].URL != "http://"+gateway.AppAddr {
		t.Errorf("router app's service %q is not the application at %s", router.Service, gateway.AppAddr)
	}

	// The router's middlewares, in order: every header jwtguard sets is
	// removed from the client's request (set to "") before forwardAuth,
	// which sets jwtguard's.
	stripped := map[string]bool{}
	authAt := -1
	for i, name := range router.Middlewares {
		m, ok := dyn.HTTP.Middlewares[name]
		if !ok {
			t.Fatalf("router app names middleware %q, which is not defined", name)
		}
		if m.Headers != nil && authAt < 0 {
			for h, v := range m.Headers.CustomRequestHeaders {
				if v == "" {
					stripped[http.CanonicalHeaderKey(h)] = true
				}
			}
		}
		if fa := m.ForwardAuth; fa != nil {
			authAt = i
			if fa.Address != "http://"+gateway.ServeAddr+"/auth" {
				t.Errorf("forwardAuth address %q, want http://%s/auth", fa.Address, gateway.ServeAddr)
			}
			if fa.TrustForwardHeader {
				t.Error("forwardAuth trustForwardHeader: a client's X-Forwarded-Uri would choose the route jwtguard checks")
			}
			got := slices.Sorted(slices.Values(canonicalAll(fa.AuthResponseHeaders)))
			if !slices.Equal(got, want) {
				t.Errorf("forwardAuth authResponseHeaders %q, want %q", got, want)
			}
			if len(fa.AuthRequestHeaders) == 0 {
				t.Error("forwardAuth authRequestHeaders unset: every client header goes to jwtguard, X-Original-URI too")
			}
			for _, h := range canonicalAll(fa.AuthRequestHeaders) {
				if h != "Authorization" && h != "Cookie" {
					t.Errorf("forwardAuth sends the client's %s to jwtguard", h)
				}
			}
		}
	}
	if authAt < 0 {
		t.Fatal("router app has no forwardAuth middleware")
	}
	for _, h := range want {
		if !stripped[h] {
			t.Errorf("a client's %s reaches the application: no headers middleware before forwardAuth sets it to \"\"", h)
		}
	}
}

func canonicalAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = http.CanonicalHeaderKey(n)
	}
	return out
}
