package jose

import "encoding/base64"

var b64 = base64.RawURLEncoding.Strict()

// DecodedLen is the most bytes a segment of n characters decodes to.
func DecodedLen(n int) int { return b64.DecodedLen(n) }

// DecodeSegment decodes one segment into the front of buf and returns the
// rest of buf for the next segment. Strict decoding refuses padding,
// whitespace, CR/LF, characters outside the base64url alphabet and non-zero
// trailing bits (RFC 7515 section 2 and appendix C), so one token has
// exactly one encoding.
func DecodeSegment(buf []byte, seg string) (out, rest []byte, ok bool) {
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, nil, false
		}
	}
	n, err := b64.Decode(buf, UnsafeBytes(seg))
	if err != nil {
		return nil, nil, false
	}
	return buf[:n], buf[n:], true
}
