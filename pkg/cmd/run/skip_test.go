package run

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// The reports directory, which a flow's runs write while later runs upload, is left out of an upload it is
// inside of, and of no other.
func TestSkipInside(t *testing.T) {
	repo := t.TempDir()
	uploads := []runspec.Upload{{Local: repo, Path: "/src", Skip: []string{".git"}}, {Local: t.TempDir(), Path: "/other"}}
	tests := map[string]struct {
		reports string
		want    [][]string
	}{
		"inside":   {filepath.Join(repo, "out", "r"), [][]string{{".git", "out/r"}, nil}},
		"outside":  {filepath.Join(t.TempDir(), "out"), [][]string{{".git"}, nil}},
		"the repo": {repo, [][]string{{".git"}, nil}},
		"none":     {"", [][]string{{".git"}, nil}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var got [][]string
			for _, u := range skipInside(uploads, tt.reports) {
				got = append(got, u.Skip)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("skips (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff([]string{".git"}, uploads[0].Skip); diff != "" {
		t.Errorf("skipInside changed its argument (-want +got):\n%s", diff)
	}
}
