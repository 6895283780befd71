package serve

import (
	"os"
	"strings"
	"testing"
)

// readmeSection is the README's section on jwtguard serve.
const readmeSection = "\n## jwtguard serve: the verdict for any gateway\n"

// TestReadmePolicy: the README's example policy file is one the server
// accepts, with the routes and headers the README says it has.
func TestReadmePolicy(t *testing.T) {
	data, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), readmeSection)
	if !ok {
		t.Fatalf("the README has no section %q", strings.TrimSpace(readmeSection))
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	if !ok {
		t.Fatal("the section has no yaml block")
	}
	block, _, _ = strings.Cut(block, "```")
	p, err := ParsePolicy([]byte(block))
	if err != nil {
		t.Fatalf("the README's policy file is refused: %v\n%s", err, block)
	}
	if len(p.Routes) < 4 || len(p.ClaimHeaders) < 1 {
		t.Errorf("the README's policy file parsed to %+v", p)
	}
}
