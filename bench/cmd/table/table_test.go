package main

import (
	"strings"
	"testing"
)

var parseLineCases = []struct {
	line string
	name string
	want sample
	ok   bool
	err  bool
}{
	{"BenchmarkPeerVerify/jwtguard-uncached/RS256-2   \t   28000\t     41235 ns/op\t    2345 B/op\t      19 allocs/op",
		"BenchmarkPeerVerify/jwtguard-uncached/RS256", sample{41235, 2345, 19}, true, false},
	{"BenchmarkPeerRequest/gin/none   \t 5000000\t       212.5 ns/op\t      48 B/op\t       1 allocs/op",
		"BenchmarkPeerRequest/gin/none", sample{212.5, 48, 1}, true, false},
	{"BenchmarkPeerVerify/jwx/EdDSA-16  100  9000 ns/op", "BenchmarkPeerVerify/jwx/EdDSA", sample{ns: 9000}, true, false},
	{"goos: linux", "", sample{}, false, false},
	{"--- FAIL: BenchmarkPeerVerify/jwx/RS256", "", sample{}, false, false},
	{"BenchmarkPeerVerify/jwx/RS256-2  100  fast ns/op", "", sample{}, false, true},
	{"BenchmarkPeerVerify/jwx/RS256-2  100  12 B/op  1 allocs/op", "", sample{}, false, true},
}

func TestParseLine(t *testing.T) {
	for _, c := range parseLineCases {
		name, s, ok, err := parseLine(c.line)
		if (err != nil) != c.err || ok != c.ok || name != c.name || s != c.want {
			t.Errorf("parseLine(%q) = %q, %+v, %v, %v; want %q, %+v, %v, error %v", c.line, name, s, ok, err, c.name, c.want, c.ok, c.err)
		}
	}
}

const sampleOutput = `goos: linux
goarch: amd64
pkg: github.com/jwtguard/jwtguard/bench
cpu: Test CPU @ 2.00GHz
BenchmarkPeerVerify/jwtguard-uncached/RS256-2  100  40000 ns/op  2000 B/op  20 allocs/op
BenchmarkPeerVerify/golang-jwt/RS256-2         100  60000 ns/op  5000 B/op  70 allocs/op
BenchmarkPeerVerify/jwtguard-uncached/RS256-2  100  44000 ns/op  2000 B/op  20 allocs/op
BenchmarkPeerVerify/golang-jwt/RS256-2         100  66000 ns/op  5000 B/op  70 allocs/op
BenchmarkPeerVerify/jwtguard-uncached/RS256-2  100  42000 ns/op  2000 B/op  20 allocs/op
BenchmarkPeerVerify/golang-jwt/RS256-2         100  63000 ns/op  5000 B/op  70 allocs/op
BenchmarkPeerRequest/nethttp/none-2              100  1000 ns/op  900 B/op  9 allocs/op
BenchmarkPeerRequest/nethttp/jwtguard-uncached-2 100  43000 ns/op  2900 B/op  29 allocs/op
BenchmarkPeerRequest/echo/none-2                 100  800 ns/op  500 B/op  5 allocs/op
PASS
`

func TestRender(t *testing.T) {
	res, err := parse(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.runs(); got != 1 {
		t.Errorf("runs = %d, want 1 (the request benchmarks ran once)", got)
	}
	var b strings.Builder
	render(&b, res, machine{cores: 2, goVersion: "go1.25.0", loadBefore: "1.50", loadAfter: "0.20", benchtime: "1s"})
	md := b.String()
	for _, want := range []string{
		"Machine: Test CPU @ 2.00GHz, 2 logical CPUs, go1.25.0 linux/amd64.",
		"| jwtguard-uncached | 1.00x | 42,000 | 2,000 | 20 |",
		"| golang-jwt | 1.50x | 63,000 | 5,000 | 70 |",
		"| nethttp | jwtguard-uncached | 1.00x | 42,000 | 43,000 | 2,900 | 29 |",
		"| echo | none | 0.019x | – | 800 | 500 | 5 |",
		"Other work was running on this machine",
		"Not measured yet: jwtguard's echojwt (no such adapter module in this tree).",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the table lacks %q:\n%s", want, md)
		}
	}
}

func TestMedian(t *testing.T) {
	r := &results{samples: map[string][]sample{"even": {{ns: 4}, {ns: 1}, {ns: 3}, {ns: 2}}}}
	if got, _ := r.median("even"); got.ns != 2.5 {
		t.Errorf("median of 1..4 = %v, want 2.5", got.ns)
	}
}
