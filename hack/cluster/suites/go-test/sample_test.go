// Package suite is the sample suite of the go-test plugin: compiled with `go test -c` into a static binary
// and run by gotestsum in testrun.local/suite-go-test:v1 (hack/cluster/suites.sh). One test passes, one fails
// and one is skipped, so the e2e test sees a failing exit code and all three in the JUnit summary.
package suite

import (
	"os"
	"strings"
	"testing"
)

func TestAddition(t *testing.T) {
	if got := 2 + 2; got != 4 {
		t.Errorf("2 + 2 = %d, want 4", got)
	}
}

// TestRunMetadata passes when the plugin exported the run's name, as every run does.
func TestRunMetadata(t *testing.T) {
	if name := os.Getenv("TESTRUN_NAME"); !strings.HasPrefix(name, "go-test-") {
		t.Errorf("TESTRUN_NAME = %q, want the run name go-test-xxxxx", name)
	}
}

func TestGreeting(t *testing.T) {
	if got, want := "hello, world", "hello, cluster"; got != want {
		t.Errorf("greeting = %q, want %q", got, want)
	}
}

func TestSkipped(t *testing.T) {
	t.Skip("skipped on purpose: the summary counts it")
}
