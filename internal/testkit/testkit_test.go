package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder is a testing.TB that keeps what a helper reports instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestGoldenComparesWithTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.golden")
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		got        string
		wantErrors []string // substrings of the one error expected, none when equal
	}{
		{name: "equal", got: "a\nb\n"},
		{name: "different", got: "a\nc\n", wantErrors: []string{path, "(-want +got)", "rerun with -update", `"a\nb\n"`, `"a\nc\n"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Golden(r, path, []byte(tt.got))
			if len(tt.wantErrors) == 0 {
				if len(r.errors) != 0 {
					t.Errorf("Golden reported %q for output equal to the file", r.errors)
				}
				return
			}
			if len(r.errors) != 1 {
				t.Fatalf("Golden reported %d errors (%q), want 1 for output that differs from the file", len(r.errors), r.errors)
			}
			for _, want := range tt.wantErrors {
				if !strings.Contains(r.errors[0], want) {
					t.Errorf("Golden's error lacks %q:\n%s", want, r.errors[0])
				}
			}
		})
	}
}

func TestWriteFilesCreatesTheTree(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"top.txt": "1", "a/b/deep.xml": "<x/>"}
	WriteFiles(t, dir, files)
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(files, got); diff != "" {
		t.Errorf("files under %s (-want +got):\n%s", dir, diff)
	}
}
