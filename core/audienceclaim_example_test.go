package core_test

import (
	"context"
	"crypto"
	"fmt"
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard/core"
)

// A Cognito user pool's access tokens carry no aud, only the app client
// they were issued to, in client_id: the service reads its audience from
// there, and a token of another app client is refused like one for
// another service.
func ExampleConfig_audienceClaim() {
	v, err := core.New(core.Config{
		Issuers: []core.IssuerConfig{{Issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E",
			PublicKeys: map[string]crypto.PublicKey{"k1": exampleKey.Public()}}},
		Audiences:     []string{"4k7h2m9p1q3r5s8t0v6w2x4y9z"},
		AudienceClaim: core.AudienceClaimClientID,
		Algorithms:    []string{"EdDSA"},
	}, core.WithClock(func() time.Time { return exampleNow }), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer v.Close()
	for _, client := range []string{"4k7h2m9p1q3r5s8t0v6w2x4y9z", "7z5y3x1w9v8u6t4s2r0q1p3o5n"} {
		token := exampleToken(jwt.MapClaims{"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E",
			"sub": "alice", "client_id": client, "token_use": "access", "exp": exampleNow.Add(time.Hour).Unix()})
		_, err := v.Verify(context.Background(), token)
		fmt.Printf("%s: %v\n", client, err)
	}
	// Output:
	// 4k7h2m9p1q3r5s8t0v6w2x4y9z: <nil>
	// 7z5y3x1w9v8u6t4s2r0q1p3o5n: jwtguard: audience_invalid: client_id is not a client this service accepts
}
