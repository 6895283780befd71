package core_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

var grpcNames = map[int]string{
	core.GRPCInvalidArgument: "InvalidArgument", core.GRPCPermissionDenied: "PermissionDenied",
	core.GRPCUnavailable: "Unavailable", core.GRPCUnauthenticated: "Unauthenticated",
}

// TestReadmeReasonTable keeps the README's reason table (reason, RFC 6750
// error, HTTP status, gRPC code) identical to core's, row for row.
func TestReadmeReasonTable(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The first table after the "## Reasons" heading, minus its header.
	section := string(data)
	if i := strings.Index(section, "\n## Reasons\n"); i >= 0 {
		section = section[i:]
	}
	var got []string
	inTable := false
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(line, "|")
		if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue // header and separator rows
		}
		got = append(got, strings.Join(trimAll(cells[1:5]), "|"))
	}
	var want []string
	for _, r := range core.Reasons() {
		code := "-"
		if r.BearerCode != "" {
			code = "`" + r.BearerCode + "`"
		}
		want = append(want, fmt.Sprintf("`%s`|%s|%d|%s", r.Reason, code, r.HTTPStatus, grpcNames[r.GRPCCode]))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README reason table is stale; want rows:\n%s\ngot:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

func trimAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

// TestReadmeGoBlocksAreCopies: every line of every Go block in the README
// stands in some Go file of the repository, so the README shows code that
// compiles (in an Example or an examples/ file) rather than code that once
// did.
func TestReadmeGoBlocksAreCopies(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var source strings.Builder
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, line := range strings.Split(string(b), "\n") {
				source.WriteString(strings.TrimSpace(line) + "\n")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all := "\n" + source.String()
	blocks := strings.Split(string(data), "```go\n")[1:]
	if len(blocks) < 6 {
		t.Fatalf("%d Go blocks in the README, want at least 6", len(blocks))
	}
	for _, block := range blocks {
		block = block[:strings.Index(block, "```")]
		for _, line := range strings.Split(block, "\n") {
			line = strings.TrimSpace(line)
			if line != "" && !strings.Contains(all, "\n"+line+"\n") {
				t.Errorf("README line not found in any Go file: %s", line)
			}
		}
	}
}
