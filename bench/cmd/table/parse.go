package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// sample is one line of benchmark output.
type sample struct {
	ns, bytes, allocs float64
}

// results are the samples of every benchmark, by name without the
// GOMAXPROCS suffix, in the order the benchmarks first ran.
type results struct {
	names   []string
	samples map[string][]sample
	// From the header of go test -bench output.
	goos, goarch, cpu string
}

// median is the median of each measure on its own.
func (r *results) median(name string) (sample, bool) {
	ss := r.samples[name]
	if len(ss) == 0 {
		return sample{}, false
	}
	med := func(get func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = get(s)
		}
		return median(v)
	}
	return sample{
		ns:     med(func(s sample) float64 { return s.ns }),
		bytes:  med(func(s sample) float64 { return s.bytes }),
		allocs: med(func(s sample) float64 { return s.allocs }),
	}, true
}

// median sorts v and returns its median.
func median(v []float64) float64 {
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// runs is the fewest samples any benchmark has.
func (r *results) runs() int {
	n := 0
	for i, name := range r.names {
		if c := len(r.samples[name]); i == 0 || c < n {
			n = c
		}
	}
	return n
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// parse reads go test -bench -benchmem output.
func parse(r io.Reader) (*results, error) {
	res := &results{samples: map[string][]sample{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(k, "Benchmark") {
			switch k {
			case "goos":
				res.goos = strings.TrimSpace(v)
			case "goarch":
				res.goarch = strings.TrimSpace(v)
			case "cpu":
				res.cpu = strings.TrimSpace(v)
			}
			continue
		}
		name, s, ok, err := parseLine(line)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if _, seen := res.samples[name]; !seen {
			res.names = append(res.names, name)
		}
		res.samples[name] = append(res.samples[name], s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(res.names) == 0 {
		return nil, fmt.Errorf("no benchmark results in the input")
	}
	return res, nil
}

// parseLine reads one result line: name, iterations, then value-unit pairs.
// Other lines give ok false.
func parseLine(line string) (name string, s sample, ok bool, err error) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return "", sample{}, false, nil
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return "", sample{}, false, nil
	}
	name = procsSuffix.ReplaceAllString(f[0], "")
	found := false
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", sample{}, false, fmt.Errorf("%s: %q is not a number", name, f[i])
		}
		switch f[i+1] {
		case "ns/op":
			s.ns, found = v, true
		case "B/op":
			s.bytes = v
		case "allocs/op":
			s.allocs = v
		}
	}
	if !found {
		return "", sample{}, false, fmt.Errorf("%s: no ns/op", name)
	}
	return name, s, true, nil
}
