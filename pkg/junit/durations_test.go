package junit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Durations reads every case's time by name: cases of the same name add up, nested suites count, a time that
// does not parse counts as none.
func TestDurations(t *testing.T) {
	dir := t.TempDir()
	reports := map[string]string{
		"a.xml": `<testsuites><testsuite name="s"><testcase name="login" time="4.5"/><testcase name="search" time="0.25"/>
			<testsuite name="nested"><testcase name="deep" time="2"/></testsuite></testsuite></testsuites>`,
		"b.xml": `<testsuite name="t"><testcase name="login" time="0.5"/><testcase name="broken" time="x"/></testsuite>`,
	}
	for name, content := range reports {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Durations(dir, []string{"b.xml", "a.xml"})
	if err != nil {
		t.Fatalf("Durations: %v", err)
	}
	want := []CaseTime{{"broken", 0}, {"deep", 2}, {"login", 5}, {"search", 0.25}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Durations() (-want +got):\n%s", diff)
	}
	if _, err := Durations(dir, []string{"../escape.xml"}); err == nil {
		t.Error("Durations() read a file outside its directory")
	}
}
