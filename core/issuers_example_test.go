package core_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// A template issuer trusts the tenants it lists, and no other: Tenant
// says which one a token belongs to, and a tid that names another tenant
// than iss is refused.
func ExampleClaims_Tenant() {
	v, err := core.New(core.Config{
		Issuers: []core.IssuerConfig{{
			Issuer:     "https://login.microsoftonline.com/{tenant}/v2.0",
			Tenants:    []string{"contoso", "fabrikam"},
			PublicKeys: map[string]crypto.PublicKey{"k1": exampleKey.Public()}, // in production: the shared jwks_url
		}},
		Audiences:  []string{"orders-api"},
		Algorithms: []string{"EdDSA"},
	}, core.WithClock(func() time.Time { return exampleNow }), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	for _, tc := range []struct{ iss, tid string }{
		{"https://login.microsoftonline.com/contoso/v2.0", "contoso"},
		{"https://login.microsoftonline.com/fabrikam/v2.0", "fabrikam"},
		{"https://login.microsoftonline.com/contoso/v2.0", "fabrikam"},
		{"https://login.microsoftonline.com/northwind/v2.0", "northwind"},
	} {
		claims := exampleClaims()
		claims["iss"], claims["tid"] = tc.iss, tc.tid
		c, err := v.Verify(context.Background(), exampleToken(claims))
		var e *core.Error
		if errors.As(err, &e) {
			fmt.Printf("tid %s: %s\n", tc.tid, e.Reason)
			continue
		}
		fmt.Printf("tid %s: accepted, tenant %s\n", tc.tid, c.Tenant())
	}
	// Output:
	// tid contoso: accepted, tenant contoso
	// tid fabrikam: accepted, tenant fabrikam
	// tid fabrikam: issuer_invalid
	// tid northwind: issuer_invalid
}
