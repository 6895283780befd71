//go:build mutationguard

package core_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMutationGuards applies each hand mutation of mutationGuards with
// go test -overlay, the source tree untouched, and requires each of its
// killers to fail. It compiles a test binary per mutation, so it runs only
// under the mutationguard tag, from core/mutation.sh.
func TestMutationGuards(t *testing.T) {
	for _, g := range mutationGuards {
		t.Run(g.check, func(t *testing.T) {
			path, err := filepath.Abs(filepath.FromSlash(g.file))
			if err != nil {
				t.Fatal(err)
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(string(src), g.from) != 1 {
				t.Fatalf("the code to mutate is not in %s exactly once", g.file)
			}
			dir := t.TempDir()
			mutant := filepath.Join(dir, filepath.Base(path))
			if err := os.WriteFile(mutant, []byte(strings.Replace(string(src), g.from, g.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			overlay, err := json.Marshal(map[string]map[string]string{"Replace": {path: mutant}})
			if err != nil {
				t.Fatal(err)
			}
			ov := filepath.Join(dir, "overlay.json")
			if err := os.WriteFile(ov, overlay, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, k := range g.killers {
				pkg, pattern, _ := strings.Cut(k, ":")
				out, err := exec.Command("go", "test", "-overlay", ov, "-count=1", "-vet=off", "-run", pattern, "./"+pkg).CombinedOutput()
				// A mutant that does not compile kills nothing: only a
				// failing test, or a test binary that crashed, counts.
				failed := strings.Contains(string(out), "--- FAIL") || strings.Contains(string(out), "panic: ")
				if err == nil || !failed || strings.Contains(string(out), "[build failed]") {
					t.Errorf("%s survives the mutation (err %v):\n%s", k, err, out)
					continue
				}
				t.Logf("killed by %s", k)
			}
		})
	}
}
