package gateway

import (
	"errors"
	"strings"
	"testing"
)

func TestLookMissing(t *testing.T) {
	_, err := Look("jwtguard-no-such-gateway", "jwtguard-no-such-package")
	var missing *MissingError
	if !errors.As(err, &missing) {
		t.Fatalf("Look of a missing binary: %v, want a *MissingError", err)
	}
	// The message is what a developer without the gateway reads: it must
	// say what to run and what to install.
	for _, want := range []string{"jwtguard-no-such-gateway is not installed", "bash scripts/test.sh", "jwtguard-no-such-package"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name    string
		addrs   map[string]string
		want    []string // in the rendered text
		wantErr string
	}{
		{"every placeholder replaced", map[string]string{GatewayAddr: "127.0.0.1:1", ServeAddr: "127.0.0.1:2", AppAddr: "127.0.0.1:3"},
			[]string{"listen 127.0.0.1:1;", "server 127.0.0.1:2;", "server 127.0.0.1:3;"}, ""},
		{"a placeholder the file does not name", map[string]string{ServeGRPCAddr: "127.0.0.1:4"}, nil, "no longer names " + ServeGRPCAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, err := Render(NginxSite, tt.addrs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("rendered config lacks %q", w)
				}
			}
			for from := range tt.addrs {
				if strings.Contains(text, from) {
					t.Errorf("rendered config still names %s", from)
				}
			}
		})
	}
}
