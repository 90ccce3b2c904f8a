package junit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Merging keeps every case and failure of every part, names each suite after its part, and the merged
// document summarises to the sum of the parts.
func TestMerge(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write := func(dir, name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(a, "junit.xml", `<?xml version="1.0"?>
<testsuites><testsuite name="login" tests="2"><testcase name="ok"/><testcase name="bad"><failure message="want 1 &lt; 2">trace &amp; more</failure></testcase></testsuite></testsuites>`)
	write(b, "one.xml", `<testsuite tests="1"><testcase classname="x" name="skipped"><skipped/></testcase><system-out>a]]&gt;b</system-out></testsuite>`)
	var out bytes.Buffer
	if err := Merge(&out, []Part{{Name: "api", Dir: a, Files: []string{"junit.xml"}}, {Name: "ui", Dir: b, Files: []string{"one.xml"}}}); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	merged := t.TempDir()
	write(merged, "junit.xml", out.String())
	got, err := Summarize(merged, []string{"junit.xml"})
	if err != nil {
		t.Fatalf("Summarize of the merged report: %v\n%s", err, out.String())
	}
	want := Summary{Files: []string{"junit.xml"}, Tests: 3, Failures: 1, Skipped: 1,
		Failed: []Case{{Suite: "api/login", Name: "bad", Message: "want 1 < 2"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary of the merged report (-want +got):\n%s\n%s", diff, out.String())
	}
	for _, part := range []string{` name="ui">`, `trace &amp; more`, `a]]&gt;b`} {
		if !strings.Contains(out.String(), part) {
			t.Errorf("merged report lacks %q:\n%s", part, out.String())
		}
	}
}

func TestMergeRefusesABrokenReport(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.xml"), []byte(`<testsuite><testcase>`), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Merge(&bytes.Buffer{}, []Part{{Name: "s", Dir: dir, Files: []string{"bad.xml"}}})
	if err == nil || !strings.Contains(err.Error(), `merging junit report "s/bad.xml"`) {
		t.Errorf("Merge of a truncated report = %v, want an error naming it", err)
	}
}
