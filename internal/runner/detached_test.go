package runner

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// A run started with --detach has not ended: its document claims no completion and no duration.
func TestDetachedClaimsNoCompletion(t *testing.T) {
	r := Detached(runspec.Spec{Name: "smoke-abcde", Namespace: "ci"}, time.Now())
	doc, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if r.CompletionTime != nil || strings.Contains(string(doc), "completionTime") || r.DurationSeconds != 0 {
		t.Errorf("detached result claims an end: %s", doc)
	}
}
