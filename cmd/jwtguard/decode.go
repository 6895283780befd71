package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"strings"
)

// parseInterspersed parses fs from args and returns the arguments that are
// not flags, wherever they stand: "verify TOKEN -config b.yaml" works as
// "verify -config b.yaml TOKEN" does, since the flag package alone stops
// at the first argument that is not a flag. After "--" everything is an
// argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
}

// decodedToken is what can be read of a compact token without any key:
// for a JWS its header and claims, for a JWE (RFC 7516 section 7.1) its
// protected header only, the claims being encrypted. Nothing in it is
// verified.
type decodedToken struct {
	encrypted bool
	header    []byte // JSON
	claims    []byte // JSON; nil for a JWE
	// sizes of the other segments, decoded: the signature of a JWS; the
	// encrypted key, initialization vector, ciphertext and tag of a JWE.
	sizes []int
}

// jweParts names the segments of a compact JWE after its header.
var jweParts = []string{"encrypted key", "initialization vector", "ciphertext", "authentication tag"}

func decodeToken(token string) (decodedToken, error) {
	parts := strings.Split(token, ".")
	var d decodedToken
	switch len(parts) {
	case 3:
	case 5:
		d.encrypted = true
	default:
		return d, fmt.Errorf("not a compact JWS (3 segments) or JWE (5 segments): %d segments", len(parts))
	}
	var err error
	if d.header, err = decodeSegment("header", parts[0]); err != nil {
		return d, err
	}
	rest := parts[1:]
	if !d.encrypted {
		if d.claims, err = decodeSegment("claims", parts[1]); err != nil {
			return d, err
		}
		rest = parts[2:]
	}
	for _, p := range rest {
		d.sizes = append(d.sizes, base64.RawURLEncoding.DecodedLen(len(p)))
	}
	return d, nil
}

// decodeSegment decodes one base64url segment; whether it holds JSON is
// for the caller to say (indent shows what is not).
func decodeSegment(name, seg string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64url: %w", name, err)
	}
	return raw, nil
}
