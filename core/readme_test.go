package core_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// grpcNames are the google.golang.org/grpc/codes names of the codes the
// reason table uses.
var grpcNames = map[int]string{3: "InvalidArgument", 7: "PermissionDenied", 14: "Unavailable", 16: "Unauthenticated"}

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

// TestReadmeGoBlocksAreCopies: every Go block in the README is a verbatim,
// contiguous excerpt of one Go file of the repository (shifted left by
// whole tabs at most), so the README shows code that compiles, in an
// Example or an examples/ file, rather than code that once did.
func TestReadmeGoBlocksAreCopies(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var files [][]string
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
			files = append(files, strings.Split(string(b), "\n"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(data), "```go\n")[1:]
	if len(blocks) < 6 {
		t.Fatalf("%d Go blocks in the README, want at least 6", len(blocks))
	}
	for _, block := range blocks {
		lines := strings.Split(strings.TrimSuffix(block[:strings.Index(block, "```")], "\n"), "\n")
		if !slices.ContainsFunc(files, func(f []string) bool { return excerptOf(lines, f) }) {
			t.Errorf("README block is not a contiguous excerpt of any Go file:\n%s", strings.Join(lines, "\n"))
		}
	}
}

// excerptOf reports whether block stands in file on consecutive lines, every
// line indented by the same number of extra tabs.
func excerptOf(block, file []string) bool {
	for start := 0; start+len(block) <= len(file); start++ {
		indent, ok := strings.CutSuffix(file[start], block[0])
		if !ok || strings.Trim(indent, "\t") != "" {
			continue
		}
		match := true
		for i, line := range block[1:] {
			got := file[start+1+i]
			if got != indent+line && !(line == "" && strings.TrimSpace(got) == "") {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
