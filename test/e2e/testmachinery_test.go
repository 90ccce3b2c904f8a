//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
)

// tmDir holds a .test-defs/ directory and a Testrun written as a TestMachinery user writes them: scripts in
// the repository, run from its root with sh.
const tmDir = "testdata/testmachinery"

// gitHeadOf returns what TM_GIT_SHA and TM_GIT_REF should be for a location in dir: the commit and branch
// checked out, or TestMachinery's "local" outside a git checkout.
func gitHeadOf(t *testing.T, dir string) (sha, ref string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return "local", "local"
	}
	branch, _ := exec.CommandContext(t.Context(), "git", "-C", dir, "symbolic-ref", "--short", "-q", "HEAD").Output()
	return strings.TrimSpace(string(out)), strings.TrimSpace(string(branch))
}

// interval reads the start and end (ns since the epoch) a test of the Testrun recorded in its export folder.
func interval(t *testing.T, file string) (start, end int64) {
	t.Helper()
	data, err := os.ReadFile(file)
	fields := strings.Fields(string(data))
	if err != nil || len(fields) != 2 {
		t.Fatalf("the export folder did not bring home the test's interval %s: %q, %v", file, data, err)
	}
	start, _ = strconv.ParseInt(fields[0], 10, 64)
	end, _ = strconv.ParseInt(fields[1], 10, 64)
	return start, end
}

// A TestMachinery Testrun and its .test-defs/ run unchanged with `run -f testrun.yaml`: the step chosen by
// label runs the matching TestDefinitions and leaves the excluded one out; every test sees the TM_*
// variables with TestMachinery's meaning, the configuration merged the TestMachinery way (step over global
// over definition), a base64 file config and the Testrun's base64 kubeconfig decoded at their paths; what create-env writes to TM_SHARED_PATH
// is in TM_SHARED_PATH of the tests after it and of the onExit step; each export folder comes home with the reports; the serial test runs beside no other test; the
// onExit step runs in phase Exit; the command exits 0 and leaves nothing behind.
func TestTestMachineryTestrunRunsUnchanged(t *testing.T) {
	ns := namespace(t)
	out := filepath.Join(t.TempDir(), "out")
	r := testrunIn(t, tmDir, nil, "run", "-f", "testrun.yaml", "-n", ns, "--reports", out)
	wantCode(t, r, 0)

	id := regexp.MustCompile(`\[create-env\] create-env: TM_TESTRUN_ID=(integration-[a-z0-9]{5})\n`).FindStringSubmatch(r.stdout)
	if id == nil {
		t.Fatalf("create-env did not print TM_TESTRUN_ID=integration-<suffix> (the Testrun's generateName and a suffix):\n%s", r)
	}
	sha, ref := gitHeadOf(t, tmDir)
	wantLines := []string{
		"[create-env] create-env: TM_PHASE=Running\n",
		"[create-env] create-env: TM_EXPORT_PATH=/tmp/tm/export\n",
		"[create-env] create-env: TM_SHARED_PATH=/testrun/shared\n",
		"[create-env] create-env: TM_KUBECONFIG_PATH=/tmp/tm/kubeconfig\n",
		"[create-env] create-env: TM_REPO_PATH=/src\n",
		"[create-env] create-env: TM_GIT_SHA=" + sha + "\n",
		"[create-env] create-env: TM_GIT_REF=" + ref + "\n",
		// The global LEVEL wins over nothing; the definition's own entry stands.
		"[create-env] create-env: ENVIRONMENT_SIZE=small LEVEL=global\n",
		// The step's LEVEL wins over the global one, which wins over the definition's.
		"[tests/check-config] check-config: LEVEL=step DEFINITION_ONLY=from-definition GLOBAL_ONLY=from-global STEP_ONLY=from-step\n",
		"[tests/check-config] check-config: TM_TESTRUN_ID=" + id[1] + "\n",
		"[tests/check-config] check-config: greeting=/tmp/tm/greeting.txt content=hello world\n",
		"[tests/check-config] check-config: environment=env-42\n",
		// The Testrun's inline (base64) shoot kubeconfig, at TM_KUBECONFIG_PATH/shoot.config.
		"[tests/check-config] check-config: shoot server=https://shoot.example\n",
		"[delete-env] delete-env: TM_PHASE=Exit TM_TESTRUN_ID=" + id[1] + " environment=env-42\n",
	}
	for _, line := range wantLines {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("stdout lacks %q:\n%s", line, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "the beta test ran") {
		t.Errorf("beta-check ran, want it left out by the label expression default,!beta:\n%s", r.stdout)
	}
	homes := map[string]string{
		"create-env/tmp/tm/export/environment.json": `{"environment": "env-42", "size": "small"}` + "\n",
		"create-env/testrun/shared/environment":     "env-42\n",
		// The shared folder a test starts with comes home with it, with what it added: it accumulates.
		"tests/check-config/testrun/shared/environment": "env-42\n",
		"delete-env/testrun/shared/environment":         "env-42\n",
		"delete-env/tmp/tm/export/deleted":              "deleted\n",
	}
	for file, want := range homes {
		if data, err := os.ReadFile(filepath.Join(out, file)); err != nil || string(data) != want {
			t.Errorf("out/%s = %q, %v; want %q: the export and shared folders come home under each step", file, data, err, want)
		}
	}
	serialStart, serialEnd := interval(t, filepath.Join(out, "tests/serial-check/tmp/tm/export/interval"))
	for _, other := range []string{"tests/check-config", "smoke"} {
		start, end := interval(t, filepath.Join(out, other, "tmp/tm/export/interval"))
		if start < serialEnd && serialStart < end {
			t.Errorf("serial-check ran from %d to %d, beside %s from %d to %d: a serial test runs beside no other", serialStart, serialEnd, other, start, end)
		}
	}
	assertNothingLeft(t, ns)
}

// A Testrun whose TestDefinitions live in a git location is refused before anything is created: exit 125,
// naming the file, the line and the field, and what to do instead.
func TestTestMachineryGitLocationIsRefused(t *testing.T) {
	ns := namespace(t)
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"testrun.yaml": `apiVersion: testmachinery.sapcloud.io/v1beta1
kind: Testrun
metadata:
  generateName: integration-
spec:
  locationSets:
  - name: default
    default: true
    locations:
    - type: git
      repo: https://github.com/gardener/test-infra.git
      revision: master
  testflow:
  - name: tests
    definition:
      label: default
`})
	r := testrunIn(t, dir, nil, "run", "-f", "testrun.yaml", "-n", ns)
	wantCode(t, r, 125)
	wantStderr(t, r, `"testrun.yaml": line 10: spec.locationSets[0].locations[0].type: git locations are not supported`,
		"give it as type: local with hostPath")
	assertNothingLeft(t, ns)
}

// A failing Testrun exits with the code of its first failing step: a step that continues on error lets the
// step after it run and does not count, a failing step skips the steps after it, and of the onExit steps
// the error one runs and the success one does not. The Testrun names no location: its own directory is it.
func TestTestMachineryFailingTestrunExitsWithTheStepsCode(t *testing.T) {
	ns := namespace(t)
	r := testrunIn(t, tmDir, nil, "run", "-f", "failing-testrun.yaml", "-n", ns)
	wantCode(t, r, 3)
	for _, line := range []string{"[flaky] the beta test ran\n", "[broken] broken fails\n", "[on-error] delete-env: TM_PHASE=Exit TM_TESTRUN_ID=failing"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("stdout lacks %q:\n%s", line, r)
		}
	}
	wantStderr(t, r, "step after-flaky passed", `step after-broken skipped: step "broken" did not pass`,
		"step on-success skipped: condition success: a step did not pass", "flow failing failed with exit code 3")
	assertNothingLeft(t, ns)
}
