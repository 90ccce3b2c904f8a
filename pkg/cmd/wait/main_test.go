package wait_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the tests a temporary directory of their own: a failed run saves its diagnostics in
// $TMPDIR, and the tests must leave nothing behind there.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "testrun-unit-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", dir)
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
