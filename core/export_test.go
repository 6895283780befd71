package core

// CacheLen exposes the token cache size to the external tests.
func CacheLen(v *Verifier) int {
	e := v.cur.Load()
	if e.cache == nil {
		return 0
	}
	return e.cache.len()
}

// ExtractForTest runs token extraction alone, for its table test and
// BenchmarkExtract.
func (v *Verifier) ExtractForTest(r Request) (string, error) { return v.cur.Load().extractToken(r) }
