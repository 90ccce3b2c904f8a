//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The documented way to start a definition of one's own: the shell creates .testrun/mine.yaml before
// plugins reads .testrun/, plugins prints the one TestDefinition, and run -f accepts the file (renamed).
func TestPluginsYAMLOfOneNameIsADefinitionRunAccepts(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".testrun"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := testrunIn(t, dir, nil, "plugins", "shell", "-o", "yaml")
	wantCode(t, r, 0)
	cmd := command(t.Context(), "sh", "-c", `"$0" plugins shell -o yaml > .testrun/mine.yaml && sed -i 's/^  name: shell$/  name: mine/' .testrun/mine.yaml`, pluginBin)
	cmd.Dir = dir
	if r := run(t, cmd); r.code != 0 {
		t.Fatalf("plugins shell -o yaml > .testrun/mine.yaml: %s", r)
	}
	r = testrunIn(t, dir, nil, "run", "-f", ".testrun/mine.yaml", "--image", busybox, "--dry-run=client")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "job.batch/mine-") {
		t.Errorf("run -f of the copied definition printed %q", r.stdout)
	}
	r = testrunIn(t, dir, nil, "run", "--definition", "mine", "--image", busybox, "--dry-run=client")
	wantCode(t, r, 0)
}

// completionTime is the same for one run in run -o json, describe -o json and list -o json, for a failed run
// too (the test's end); a run started with --detach claims none.
func TestCompletionTimeIsTheSameInRunDescribeAndList(t *testing.T) {
	ns := namespace(t)
	type doc struct {
		Name           string
		Phase          string
		CompletionTime *string
	}
	r := testrun(t, "run", "ended", "-n", ns, "--image", testee, "--env", "TESTEE_EXIT=3", "--keep", "-o", "json")
	wantCode(t, r, 3)
	var ran doc
	if err := json.Unmarshal([]byte(r.stdout), &ran); err != nil || ran.CompletionTime == nil || ran.Phase != "Failed" {
		t.Fatalf("run -o json of a failed run: %+v (%v)\n%s", ran, err, r)
	}
	r = testrun(t, "describe", ran.Name, "-n", ns, "-o", "json")
	wantCode(t, r, 0)
	var described doc
	if err := json.Unmarshal([]byte(r.stdout), &described); err != nil || described.CompletionTime == nil || *described.CompletionTime != *ran.CompletionTime {
		t.Errorf("describe -o json completionTime %v, run -o json %q (%v)", described.CompletionTime, *ran.CompletionTime, err)
	}
	r = testrun(t, "list", "-n", ns, "-o", "json")
	wantCode(t, r, 0)
	var listed struct{ Items []doc }
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || len(listed.Items) != 1 || listed.Items[0].CompletionTime == nil || *listed.Items[0].CompletionTime != *ran.CompletionTime {
		t.Errorf("list -o json %+v, run -o json completionTime %q (%v)", listed, *ran.CompletionTime, err)
	}

	r = testrun(t, "run", "detached", "-n", ns, "--image", testee, "--detach", "-o", "json")
	wantCode(t, r, 0)
	var detached doc
	if err := json.Unmarshal([]byte(r.stdout), &detached); err != nil || detached.Phase != "Started" || detached.CompletionTime != nil || strings.Contains(r.stdout, "completionTime") {
		t.Errorf("run --detach -o json claims a completion: %+v (%v)\n%s", detached, err, r.stdout)
	}
	wantCode(t, testrun(t, "delete", "-n", ns, "--all"), 0)
}
