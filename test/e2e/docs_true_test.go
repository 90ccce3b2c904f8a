//go:build e2e

package e2e

import (
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
