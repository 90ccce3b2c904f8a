package wait_test

import (
	"testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
)

// TestMain gives the tests a temporary directory of their own: a failed run saves its diagnostics in
// $TMPDIR, and the tests must leave nothing behind there.
func TestMain(m *testing.M) { testkit.MainInOwnTempDir(m) }
