package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The demo runs whole, as go run ./examples/fleet does, and holds.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if code := demo(context.Background(), nil, &out, &out); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	for _, want := range []string{"hint", "token_revoked", "every instance switched within", "no drift: 5 instances of 1 service", "leeway 5m vs 30s", "all steps held"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo does not show %q:\n%s", want, out.String())
		}
	}
}

func TestDemoUsage(t *testing.T) {
	var out bytes.Buffer
	if code := demo(context.Background(), []string{"-instances", "1"}, &out, &out); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
}
