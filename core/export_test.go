package core

// CacheLen keeps the external tests' spelling of Verifier.CacheLen.
func CacheLen(v *Verifier) int { return v.CacheLen() }

// ExtractForTest runs token extraction alone, for its table test and
// BenchmarkExtract.
func (v *Verifier) ExtractForTest(r Request) (string, error) { return v.cur.Load().extractToken(r) }
