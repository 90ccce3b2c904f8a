//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
)

// flowStep is a definition for flow steps: a busybox script that says which step it is, sleeps $SLEEP
// seconds, writes a one-case JUnit report named after the step and its name into its shared directory's
// file "step", and exits $EXIT.
const flowStep = `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: step
spec:
  image: ` + busybox + `
  command: [sh, -c]
  args:
  - |
    echo "step $STEP running"
    sleep ${SLEEP:-0}
    printf '<testsuite name="suite"><testcase name="%s"/></testsuite>' "$STEP" > $TESTRUN_REPORT_DIR/junit.xml
    echo "$STEP" > $TESTRUN_SHARED_DIR/step
    echo "step $STEP done"
    exit ${EXIT:-0}
`

// flowDir writes .testrun/step.yaml and flow.yaml into a new directory and returns it.
func flowDir(t *testing.T, flow string) string {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{".testrun/step.yaml": flowStep, "flow.yaml": flow})
	return dir
}

// stepLine is a step of the flows below: name, extra flow fields, and the script's variables.
func stepLine(name, more string, env ...string) string {
	vars := []string{`{name: STEP, value: ` + name + `}`}
	for i := 0; i+1 < len(env); i += 2 {
		vars = append(vars, `{name: `+env[i]+`, value: "`+env[i+1]+`"}`)
	}
	return `  - {name: ` + name + `, definition: {name: step}, env: [` + strings.Join(vars, ", ") + `]` + more + "}\n"
}

// peakRunning watches ns until stop is called and returns the most test containers seen running at once.
func peakRunning(t *testing.T, ns string) (stop func() int) {
	ctx, cancel := context.WithCancel(t.Context())
	most := make(chan int, 1)
	go func() {
		peak := 0
		defer func() { most <- peak }()
		for ctx.Err() == nil {
			if pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: managedBy}); err == nil {
				running := 0
				for _, p := range pods.Items {
					for _, s := range p.Status.ContainerStatuses {
						if s.Name == "test" && s.State.Running != nil {
							running++
						}
					}
				}
				peak = max(peak, running)
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return func() int { cancel(); return <-most }
}

// before fails the test unless the line holding first comes before the line holding then in text.
func before(t *testing.T, text, first, then string) {
	t.Helper()
	i, j := strings.Index(text, first), strings.Index(text, then)
	if i < 0 || j < 0 || i > j {
		t.Errorf("want %q before %q:\n%s", first, then, text)
	}
}

// A diamond flow (A, then B and C in parallel, then D) passes: each step starts only once the steps it
// depends on passed, B and C run at the same time, every step's report comes home under its own directory,
// the reports are merged into one junit.xml, and -o json describes every step.
func TestFlowDiamondPassesAndBringsEachStepsReportsHome(t *testing.T) {
	ns := namespace(t)
	dir := flowDir(t, `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: diamond}
spec:
  steps:
`+stepLine("a", "")+stepLine("b", ", dependsOn: [a]", "SLEEP", "4")+stepLine("c", ", dependsOn: [a]", "SLEEP", "4")+stepLine("d", ", dependsOn: [b, c]"))
	out := filepath.Join(dir, "out")
	stop := peakRunning(t, ns)
	r := testrunIn(t, dir, nil, "run", "-f", "flow.yaml", "-n", ns, "--reports", out, "-o", "json")
	peak := stop()
	wantCode(t, r, 0)
	if peak < 2 {
		t.Errorf("at most %d test containers ran at once, want 2: b and c depend only on a, so they run in parallel\n%s", peak, r)
	}
	// With -o json the test output goes to stderr, each line prefixed with its step.
	for _, s := range []string{"a", "b", "c", "d"} {
		if !strings.Contains(r.stderr, "["+s+"] step "+s+" done\n") {
			t.Errorf("stderr lacks the prefixed line of step %s:\n%s", s, r.stderr)
		}
		// Each report directory comes home under its own path: the reports at out/<step>/reports/, the
		// step's shared directory at out/<step>/testrun/shared/.
		data, err := os.ReadFile(filepath.Join(out, s, "reports", "junit.xml"))
		if err != nil || !strings.Contains(string(data), `<testcase name="`+s+`"/>`) {
			t.Errorf("the report of step %s did not come home to out/%s/reports/junit.xml: %q, %v", s, s, data, err)
		}
		if data, err := os.ReadFile(filepath.Join(out, s, "testrun", "shared", "step")); err != nil || string(data) != s+"\n" {
			t.Errorf("the shared directory of step %s did not come home to out/%s/testrun/shared/: %q, %v", s, s, data, err)
		}
	}
	before(t, r.stderr, "testrun: step a passed", "[b] testrun: created job")
	before(t, r.stderr, "testrun: step a passed", "[c] testrun: created job")
	before(t, r.stderr, "testrun: step b passed", "[d] testrun: created job")
	before(t, r.stderr, "testrun: step c passed", "[d] testrun: created job")
	merged, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	for _, s := range []string{"a", "b", "c", "d"} {
		if err != nil || !strings.Contains(string(merged), `<testsuite name="`+s+`/suite"><testcase name="`+s+`">`) {
			t.Errorf("the merged out/junit.xml lacks step %s's suite: %s, %v", s, merged, err)
		}
	}
	var doc struct {
		Kind     string
		Phase    string
		ExitCode int
		Steps    []struct {
			Name, Phase string
			ExitCode    int
			Runs        []struct{ Name, Phase string }
		}
		JUnit struct{ Tests int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("-o json printed no document: %v\n%s", err, r)
	}
	if doc.Kind != "FlowResult" || doc.Phase != "Passed" || len(doc.Steps) != 4 || doc.JUnit.Tests != 4 {
		t.Errorf("result document = %+v, want a passed FlowResult of 4 steps and 4 tests", doc)
	}
	for _, s := range doc.Steps {
		if s.Phase != "Passed" || len(s.Runs) != 1 || !strings.HasPrefix(s.Runs[0].Name, s.Name+"-") {
			t.Errorf("step %+v: want passed, with one run named after it", s)
		}
	}
	for _, row := range []string{"STEP", "a  ", "Passed", "1 file", "1 test, 0 failed"} {
		if !strings.Contains(r.stderr, row) {
			t.Errorf("the final table lacks %q:\n%s", row, r.stderr)
		}
	}
	assertNothingLeft(t, ns)
}

// A failing middle step skips what depends on it (and shows it skipped), the other branch still runs, the
// always and error onExit steps run and the success one does not, and the flow exits with the step's code.
func TestFlowFailingStepSkipsItsDependentsAndRunsTheOnExitSteps(t *testing.T) {
	ns := namespace(t)
	dir := flowDir(t, `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: failing}
spec:
  steps:
`+stepLine("a", "")+stepLine("b", ", dependsOn: [a]", "EXIT", "3")+stepLine("c", ", dependsOn: [a]")+stepLine("d", ", dependsOn: [b, c]")+`  onExit:
`+stepLine("cleanup", ", condition: always")+stepLine("on-error", ", condition: error")+stepLine("on-success", ", condition: success"))
	r := testrunIn(t, dir, nil, "run", "-f", "flow.yaml", "-n", ns)
	wantCode(t, r, 3)
	for _, ran := range []string{"a", "b", "c", "cleanup", "on-error"} {
		if !strings.Contains(r.stdout, "["+ran+"] step "+ran+" done\n") {
			t.Errorf("step %s did not run:\n%s", ran, r)
		}
	}
	for _, skipped := range []string{"d", "on-success"} {
		if strings.Contains(r.stdout, "step "+skipped+" running") {
			t.Errorf("step %s ran, want it skipped:\n%s", skipped, r)
		}
	}
	wantStderr(t, r, `testrun: step b failed with exit code 3`, `testrun: step d skipped: step "b" did not pass`,
		`testrun: step on-success skipped: condition success: a step did not pass`,
		"flow failing failed with exit code 3 (steps that did not pass: b)")
	_, table, found := strings.Cut(r.stderr, "STEP ")
	if !found {
		t.Fatalf("stderr holds no final table:\n%s", r)
	}
	for _, row := range [][]string{{"b ", "Failed", "3"}, {"d ", "Skipped", "-"}, {"on-success (onExit success)", "Skipped"}, {"cleanup (onExit always)", "Passed"}} {
		found := false
		for _, l := range lines(table) {
			found = found || (strings.HasPrefix(l, row[0]) && strings.Contains(l, row[1]))
		}
		if !found {
			t.Errorf("the final table has no row %v:\n%s", row, table)
		}
	}
	assertNothingLeft(t, ns)
}

// Ctrl-C in the middle of a flow cleans up the live step as a single run does, starts nothing that
// depends on it, runs the always onExit step, exits 130, and leaves nothing in the namespace.
func TestFlowInterruptedLeavesNothingAndRunsTheAlwaysSteps(t *testing.T) {
	ns := namespace(t)
	dir := flowDir(t, `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: interrupted}
spec:
  steps:
`+stepLine("long", "", "SLEEP", "300")+stepLine("after", ", dependsOn: [long]")+`  onExit:
`+stepLine("cleanup", ", condition: always")+stepLine("on-error", ", condition: error"))
	cmd := command(t.Context(), pluginBin, "run", "-f", "flow.yaml", "-n", ns)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	var copied sync.WaitGroup
	reader := bufio.NewReader(stdout)
	for {
		l, err := reader.ReadString('\n')
		rest.WriteString(l)
		if strings.Contains(l, "step long running") {
			break
		}
		if err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("the flow ended before step long ran: %v\n%s\n%s", err, rest.String(), stderr.String())
		}
	}
	copied.Go(func() { _, _ = io.Copy(&rest, reader) })
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { copied.Wait(); _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the flow did not exit within 90s of SIGINT:\n%s\n%s", rest.String(), stderr.String())
	}
	r := result{stdout: rest.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	wantCode(t, r, 130)
	if !strings.Contains(r.stdout, "[cleanup] step cleanup done\n") {
		t.Errorf("the always onExit step did not run after the interrupt:\n%s", r)
	}
	for _, never := range []string{"step after running", "step on-error running", "step long done"} {
		if strings.Contains(r.stdout, never) {
			t.Errorf("stdout has %q, want it absent after the interrupt:\n%s", never, r)
		}
	}
	wantStderr(t, r, `testrun: step after skipped: step "long" did not pass`, "testrun: step long was interrupted with exit code 130",
		"condition error: after an interrupt only the always steps run")
	assertNothingLeft(t, ns)
}

// A flow that cannot run as written (a cycle, an unknown definition) is refused with 125 before anything
// is created.
func TestFlowThatCannotRunIsRefusedBeforeAnythingIsCreated(t *testing.T) {
	ns := namespace(t)
	tests := []struct {
		name, steps, want string
	}{
		{"a cycle", stepLine("a", ", dependsOn: [c]") + stepLine("b", ", dependsOn: [a]") + stepLine("c", ", dependsOn: [b]"),
			`definition file "flow.yaml": line 6: spec.steps[0].dependsOn: the steps depend on each other in a cycle (a → c → b → a, each depending on the next)`},
		{"an unknown definition", stepLine("a", "") + "  - {name: b, definition: {name: nope}, dependsOn: [a]}\n",
			`definition file "flow.yaml": line 7: spec.steps[1] (step "b"): no definition named "nope" in .testrun/`},
		{"an unknown step", stepLine("a", ", dependsOn: [z]"),
			`spec.steps[0].dependsOn[0]: no step is named "z"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := flowDir(t, "apiVersion: testrun.dev/v1alpha1\nkind: TestFlow\nmetadata: {name: bad}\nspec:\n  steps:\n"+tc.steps)
			r := testrunIn(t, dir, nil, "run", "-f", "flow.yaml", "-n", ns)
			wantCode(t, r, 125)
			wantStderr(t, r, tc.want)
			if jobs, err := client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{}); err != nil || len(jobs.Items) != 0 {
				t.Errorf("jobs in %s after a refused flow: %v, %v", ns, jobs, err)
			}
		})
	}
	assertNothingLeft(t, ns)
}

// The shipped plugins work as flow steps: the shell plugin runs scripts that each step brings as a
// configuration file, chosen by name and by label (the step then runs every matching definition), with the
// flow's configuration reaching every step below the step's own, and its JUnit reports merged.
func TestFlowRunsTheShippedPluginsAsSteps(t *testing.T) {
	ns := namespace(t)
	script := func(name, body string) string {
		return `    config:
    - {name: ` + name + `, type: file, path: /scripts/` + name + `.sh, value: '` + body + `'}
    args: [/scripts/` + name + `.sh]
`
	}
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"flow.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: plugins}
spec:
  config:
  - {name: TARGET, type: env, value: from-the-flow}
  steps:
  - name: create-env
    definition: {name: shell}
    image: ` + busybox + `
` + script("create", `echo "creating $TARGET"`) + `  - name: checks
    definition: {label: "framework=shell,!nope"}
    image: ` + busybox + `
    dependsOn: [create-env]
` + script("check", `echo "checking $TARGET"`) + `    env: [{name: TARGET, value: from-the-step}]
  onExit:
  - name: delete-env
    definition: {name: shell}
    image: ` + busybox + `
` + script("delete", `echo "deleting $TARGET"`)})
	out := filepath.Join(dir, "out")
	r := testrunIn(t, dir, nil, "run", "-f", "flow.yaml", "-n", ns, "--reports", out)
	wantCode(t, r, 0)
	for _, line := range []string{"[create-env] creating from-the-flow", "[checks/shell] checking from-the-step", "[delete-env] deleting from-the-flow",
		"[checks/shell] --- PASS: check ("} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("stdout lacks the line %q:\n%s", line, r)
		}
	}
	for _, report := range []string{"create-env/reports/junit.xml", "checks/shell/reports/junit.xml", "delete-env/reports/junit.xml"} {
		if _, err := os.Stat(filepath.Join(out, report)); err != nil {
			t.Errorf("the report %s did not come home: %v\n%s", report, err, r)
		}
	}
	merged, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	for _, suite := range []string{`name="create-env/`, `name="checks/shell/`, `name="delete-env/`} {
		if err != nil || !strings.Contains(string(merged), suite) {
			t.Errorf("the merged junit.xml lacks a suite %s: %s, %v", suite, merged, err)
		}
	}
	assertNothingLeft(t, ns)
}

// --timeout bounds the whole flow: the live run is stopped and deleted, what depends on it is skipped, the
// error and always onExit steps still run, and the flow exits 124.
func TestFlowTimeoutStopsTheFlowAndRunsTheOnExitSteps(t *testing.T) {
	ns := namespace(t)
	dir := flowDir(t, `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: slow}
spec:
  steps:
`+stepLine("long", "", "SLEEP", "300")+stepLine("after", ", dependsOn: [long]")+`  onExit:
`+stepLine("on-error", ", condition: error"))
	r := testrunIn(t, dir, nil, "run", "-f", "flow.yaml", "-n", ns, "--timeout", "8s")
	wantCode(t, r, 124)
	if !strings.Contains(r.stdout, "[on-error] step on-error done\n") || strings.Contains(r.stdout, "step after running") {
		t.Errorf("want the error onExit step run and the dependent step skipped after the flow's --timeout:\n%s", r)
	}
	wantStderr(t, r, "testrun: step long timed out with exit code 124", `testrun: step after skipped: step "long" did not pass`,
		"flow slow timed out with exit code 124")
	assertNothingLeft(t, ns)
}

// A flow's kubeconfigs, from a Secret and from a file next to the flow, are mounted into every step under
// $TESTRUN_KUBECONFIG_DIR, each also named by its own variable.
func TestFlowMountsItsKubeconfigsIntoEveryStep(t *testing.T) {
	ns := namespace(t)
	kubectl(t, "create", "secret", "generic", "seed", "-n", ns, "--from-literal=kubeconfig=seed-config")
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		".testrun/show.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata: {name: show}
spec:
  image: ` + busybox + `
  command: [sh, -c, 'echo "$(ls $TESTRUN_KUBECONFIG_DIR | tr "\n" " ")| $(cat $KUBECONFIG_SEED) $(cat $KUBECONFIG_SHOOT)"']
`,
		"ci/shoot.kubeconfig": "shoot-config",
		"ci/flow.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: kube}
spec:
  kubeconfigs:
    seed: {secretKeyRef: {name: seed, key: kubeconfig}}
    shoot: {file: shoot.kubeconfig}
  steps:
  - {name: first, definition: {name: show}}
  - {name: second, definition: {name: show}, dependsOn: [first]}
`})
	r := testrunIn(t, dir, nil, "run", "-f", "ci/flow.yaml", "-n", ns)
	wantCode(t, r, 0)
	for _, step := range []string{"first", "second"} {
		if want := "[" + step + "] seed shoot | seed-config shoot-config\n"; !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q: the kubeconfigs did not reach step %s\n%s", want, step, r)
		}
	}
	assertNothingLeft(t, ns)
}

// A step writes files into $TESTRUN_SHARED_DIR; a step that depends on it finds them, byte for byte, under
// $TESTRUN_FROM_DIR/<step>/ when its test starts, without --reports; a step that does not depend on it
// gets nothing; one whose dependency wrote nothing gets an empty directory; and the temporary copies are
// gone at the end.
func TestFlowHandsTheSharedDirectoryToTheDependentSteps(t *testing.T) {
	ns := namespace(t)
	// Bytes a text path would change: a carriage return, a NUL-free binary run, no final newline.
	const data = `printf 'line\r\n\001\377\200end'`
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	testkit.WriteFiles(t, dir, map[string]string{".testrun/sh.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata: {name: sh}
spec:
  image: ` + busybox + `
  command: [sh, -ec]
`, "flow.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: shared}
spec:
  steps:
  - name: a
    definition: {name: sh}
    args:
    - |
      mkdir -p "$TESTRUN_SHARED_DIR/nested/deeper"
      ` + data + ` > "$TESTRUN_SHARED_DIR/data"
      echo deep > "$TESTRUN_SHARED_DIR/nested/deeper/file"
      echo "a wrote its shared files"
  - name: b
    definition: {name: sh}
    dependsOn: [a]
    args:
    - |
      ` + data + ` | cmp - "$TESTRUN_FROM_DIR/a/data"
      test "$(cat "$TESTRUN_FROM_DIR/a/nested/deeper/file")" = deep
      test -z "$(ls -A "$TESTRUN_SHARED_DIR")"
      echo "b read a's files"
  - name: c
    definition: {name: sh}
    args:
    - |
      test -z "$TESTRUN_FROM_DIR"
      test ! -e /testrun/from
      test -z "$(ls -A "$TESTRUN_SHARED_DIR")"
      echo "c got nothing of a's"
  - name: d
    definition: {name: sh}
    dependsOn: [c]
    args:
    - |
      test -d "$TESTRUN_FROM_DIR/c"
      test -z "$(ls -A "$TESTRUN_FROM_DIR/c")"
      echo "d got c's empty directory"
`})
	r := testrunIn(t, dir, []string{"TMPDIR=" + tmp}, "run", "-f", "flow.yaml", "-n", ns)
	wantCode(t, r, 0)
	for _, line := range []string{"[a] a wrote its shared files", "[b] b read a's files", "[c] c got nothing of a's", "[d] d got c's empty directory"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("stdout lacks the line %q:\n%s", line, r)
		}
	}
	if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
		t.Errorf("the temporary copies of the shared directories were left behind in $TMPDIR: %v, %v", left, err)
	}
	assertNothingLeft(t, ns)
}

// A step of a shell-less image running as a non-root user writes its shared directory too, and the files
// reach the step that depends on it; with --reports they also come home under DIR/<step>/testrun/shared/.
func TestFlowSharedDirectoryOfANonRootShellLessStep(t *testing.T) {
	ns := namespace(t)
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{".testrun/sh.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata: {name: sh}
spec:
  image: ` + busybox + `
  command: [sh, -ec]
`, ".testrun/testee.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata: {name: testee}
spec:
  image: ` + testeeNonroot + `
`, "flow.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: nonroot}
spec:
  steps:
  - name: a
    definition: {name: testee}
    env: [{name: TESTEE_FILES, value: '/testrun/shared/sub/data=text:one\r\ntwo'}]
  - name: b
    definition: {name: sh}
    dependsOn: [a]
    args:
    - |
      printf 'one\r\ntwo' | cmp - "$TESTRUN_FROM_DIR/a/sub/data"
      echo "b read a's file"
`})
	out := filepath.Join(dir, "out")
	r := testrunIn(t, dir, nil, "run", "-f", "flow.yaml", "-n", ns, "--reports", out)
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "[b] b read a's file") {
		t.Errorf("stdout lacks b's line:\n%s", r)
	}
	if data, err := os.ReadFile(filepath.Join(out, "a", "testrun", "shared", "sub", "data")); err != nil || string(data) != "one\r\ntwo" {
		t.Errorf("a's shared file did not come home to out/a/testrun/shared/sub/data: %q, %v", data, err)
	}
	assertNothingLeft(t, ns)
}
