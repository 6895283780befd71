package core

// CacheLen exposes the token cache size to the external tests.
func CacheLen(v *Verifier) int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

// ExtractForTest runs token extraction alone, for its table test and
// BenchmarkExtract.
func (v *Verifier) ExtractForTest(r Request) (string, error) { return v.extractToken(r) }
