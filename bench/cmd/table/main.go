// Command table runs the peer benchmarks of the bench module and writes
// their medians as a Markdown table, with each contender's time as a ratio
// to jwtguard with its cache off. It runs the fairness tests first
// (TestPeersAgree, TestPeerMiddlewaresAgree), so no table is written unless
// every contender gives the same verdicts.
//
// From the bench directory:
//
//	go run ./cmd/table -count 5 -o RESULTS.md
//
// With -in it renders the output of an earlier go test -bench run instead.
package main

import (
	"bytes"
	"flag"
	"io"
	"log"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("table: ")
	count := flag.Int("count", 5, "rounds of the benchmarks; the table shows medians")
	benchtime := flag.String("benchtime", "1s", "go test -benchtime")
	in := flag.String("in", "", "render this go test -bench output instead of running the benchmarks")
	raw := flag.String("raw", "", "also save the raw go test output to this file")
	out := flag.String("o", "RESULTS.md", `where to write the Markdown ("-" for stdout)`)
	flag.Parse()

	m := machine{cores: runtime.NumCPU(), goVersion: goVersion(), cpu: cpuModel(), benchtime: *benchtime}
	var output []byte
	if *in != "" {
		var err error
		if output, err = os.ReadFile(*in); err != nil {
			log.Fatal(err)
		}
	} else {
		m.loadBefore = loadAverage()
		output = runBenchmarks(*count, *benchtime)
		m.loadAfter = loadAverage()
		m.date = time.Now().UTC().Format("2006-01-02")
	}
	if *raw != "" {
		if err := os.WriteFile(*raw, output, 0o644); err != nil {
			log.Fatal(err)
		}
	}

	res, err := parse(bytes.NewReader(output))
	if err != nil {
		log.Fatal(err)
	}
	var md bytes.Buffer
	render(&md, res, m)
	if *out == "-" {
		_, err = os.Stdout.Write(md.Bytes())
	} else {
		err = os.WriteFile(*out, md.Bytes(), 0o644)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// runBenchmarks runs the fairness tests, then count rounds of the peer
// benchmarks of the module in the current directory, echoing their progress
// to stderr. Each round runs every benchmark once, so that load which
// changes during the run falls on every contender alike, which -count
// (every run of one benchmark back to back) would not give.
func runBenchmarks(count int, benchtime string) []byte {
	var buf bytes.Buffer
	for round := 1; round <= count; round++ {
		tests := "^$"
		if round == 1 {
			tests = "^TestPeer"
		}
		cmd := exec.Command("go", "test", "-run", tests, "-bench", "^BenchmarkPeer",
			"-benchmem", "-count", "1", "-benchtime", benchtime, "-timeout", "0", ".")
		cmd.Stdout = io.MultiWriter(&buf, os.Stderr)
		cmd.Stderr = os.Stderr
		log.Printf("round %d of %d: %s", round, count, strings.Join(cmd.Args, " "))
		if err := cmd.Run(); err != nil {
			log.Fatalf("go test: %v", err)
		}
	}
	return buf.Bytes()
}

// goVersion is the version of the go command that runs the benchmarks,
// which may differ from the one that built this program.
func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage is the one-minute load average, or "" where /proc has none.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return ""
}
