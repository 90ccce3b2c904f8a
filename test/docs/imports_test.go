package docs_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/kubectl-testrun/kubectl-testrun/"

// imports returns the packages the non-test Go files of dir import.
func imports(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, e.Name()), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out = append(out, p)
		}
	}
	return out
}

// The import rules of docs/design.md, "Package map": a verb never imports another verb, and the engine
// (internal/, but the command line's kit and the test kit) imports no command-line or colour library.
func TestThePackageMapsImportRulesHold(t *testing.T) {
	verbs, err := filepath.Glob(filepath.Join(repoRoot, "pkg/cmd/*"))
	if err != nil || len(verbs) < 5 {
		t.Fatalf("found verbs %v (%v): want the packages under pkg/cmd", verbs, err)
	}
	for _, dir := range verbs {
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			continue
		}
		for _, p := range imports(t, dir) {
			if strings.HasPrefix(p, module+"pkg/cmd/") {
				t.Errorf("%s imports the verb %s: move what they share to internal/cmdkit", dir, p)
			}
		}
	}
	engine, err := filepath.Glob(filepath.Join(repoRoot, "internal/*"))
	if err != nil || len(engine) < 5 {
		t.Fatalf("found engine packages %v (%v): want the packages under internal/", engine, err)
	}
	for _, dir := range engine {
		if base := filepath.Base(dir); base == "cmdkit" || base == "testkit" {
			continue
		}
		for _, p := range imports(t, dir) {
			for _, banned := range []string{"github.com/spf13/cobra", "github.com/spf13/pflag", "github.com/fatih/color"} {
				if p == banned {
					t.Errorf("%s imports %s: the engine reports through internal/reporter; flags and colour belong to the command line", dir, p)
				}
			}
		}
	}
}
