//go:build e2e

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
)

// detach starts a run of the testee under name that prints lines numbered lines, and returns its run name.
func detach(t *testing.T, ns, name string) string {
	t.Helper()
	r := testrun(t, "run", name, "-n", ns, "--detach", "--image", testee, "--env", "TESTEE_LINES=5")
	wantCode(t, r, 0)
	run := lastLine(r.stdout)
	if !strings.HasPrefix(run, name+"-") {
		t.Fatalf("run %s --detach printed %q as its last line, want the run name", name, r.stdout)
	}
	return run
}

// jobExists tells whether the Job named name is in ns.
func jobExists(t *testing.T, ns, name string) bool {
	t.Helper()
	_, err := client.BatchV1().Jobs(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// A user names a run the way they started it: `logs smoke` takes the newest run started as smoke (saying so
// when there are several), job/NAME and run/NAME work, a typo suggests the real names, and the habits of
// kubectl logs and get work on them: --tail, -o name, -o jsonpath.
func TestRunsAreFoundByTheNameGivenToRun(t *testing.T) {
	ns := namespace(t)
	older := detach(t, ns, "smoke")
	// Creation times have whole seconds: the newer run is started in a later second, so it is the newest.
	time.Sleep(time.Second)
	newer := detach(t, ns, "smoke")
	other := detach(t, ns, "other")

	r := testrun(t, "wait", "smoke", "-n", ns, "--timeout", "2m")
	wantCode(t, r, 0)
	wantStderr(t, r, `2 runs were started as "smoke": taking the newest, `+newer+" (the others: "+older+")")

	r = testrun(t, "logs", "smoke", "-n", ns)
	wantCode(t, r, 0)
	if r.stdout != numbered(5) {
		t.Errorf("logs smoke printed %q, want the 5 numbered lines of %s", r.stdout, newer)
	}
	r = testrun(t, "logs", "smoke", "-n", ns, "--tail", "2")
	wantCode(t, r, 0)
	if r.stdout != "line 4\nline 5\n" {
		t.Errorf("logs smoke --tail 2 printed %q, want the last two lines", r.stdout)
	}

	testrun(t, "wait", older, other, "-n", ns, "--timeout", "2m")
	for _, ref := range []string{"job/" + older, "run/" + older, "jobs.batch/" + older} {
		r = testrun(t, "logs", ref, "-n", ns)
		wantCode(t, r, 0)
		if r.stdout != numbered(5) || strings.Contains(r.stderr, "runs were started as") {
			t.Errorf("logs %s printed %q (stderr %q), want the 5 numbered lines of %s and no note", ref, r.stdout, r.stderr, older)
		}
	}

	r = testrun(t, "logs", "smok", "-n", ns)
	wantCode(t, r, 125)
	wantStderr(t, r, `run "smok" not found in namespace "`+ns+`": did you mean `+newer+", "+older+"?")
	r = testrun(t, "describe", "job/nothing-here", "-n", ns)
	wantCode(t, r, 125)
	wantStderr(t, r, `run "job/nothing-here" not found`)

	r = testrun(t, "list", "-n", ns, "-o", "name")
	wantCode(t, r, 0)
	if got, want := lines(r.stdout), []string{"run/" + older, "run/" + newer, "run/" + other}; len(got) != 3 || got[0] != want[0] || !slices.Equal(sortedPair(got[1], got[2]), sortedPair(want[1], want[2])) {
		t.Errorf("list -o name printed %q, want %q (oldest first; the last two may share their second)", r.stdout, want)
	}
	r = testrun(t, "list", "-n", ns, "-o", "jsonpath={range .items[*]}{.metadata.name} {.phase} {.exitCode}{\"\\n\"}{end}", "--sort-by", ".metadata.name")
	wantCode(t, r, 0)
	if want := other + " Passed 0\n" + strings.Join(sortedPair(older, newer), " Passed 0\n") + " Passed 0\n"; r.stdout != want {
		t.Errorf("list -o jsonpath --sort-by .metadata.name printed %q, want %q", r.stdout, want)
	}
}

func sortedPair(a, b string) []string {
	if a < b {
		return []string{a, b}
	}
	return []string{b, a}
}

// A definition's labels are on its runs, so the selector that chose the definition finds its runs in logs,
// list and wait; -l means --selector in every verb, run included.
func TestDefinitionLabelsFindItsRuns(t *testing.T) {
	ns := namespace(t)
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{".testrun/api.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: api
  labels:
    suite: api-` + ns + `
spec:
  image: ` + testee + `
  env:
  - name: TESTEE_LINES
    value: "3"
`})
	r := testrunIn(t, dir, nil, "run", "-l", "suite=api-"+ns, "-n", ns, "--detach")
	wantCode(t, r, 0)
	run := lastLine(r.stdout)
	if !strings.HasPrefix(run, "api-") {
		t.Fatalf("run -l suite=... --detach printed %q, want the run name last", r.stdout)
	}
	sel := "suite=api-" + ns
	r = testrun(t, "wait", "-l", sel, "-n", ns, "--timeout", "2m")
	wantCode(t, r, 0)
	r = testrun(t, "logs", "-l", sel, "-n", ns)
	wantCode(t, r, 0)
	if r.stdout != numbered(3) {
		t.Errorf("logs -l %s printed %q, want the definition's 3 numbered lines", sel, r.stdout)
	}
	r = testrun(t, "list", "-l", sel, "-n", ns, "-o", "name")
	wantCode(t, r, 0)
	if r.stdout != "run/"+run+"\n" {
		t.Errorf("list -l %s -o name printed %q, want run/%s", sel, r.stdout, run)
	}
	r = testrun(t, "list", "-n", ns, "--show-labels")
	wantCode(t, r, 0)
	wantStdout(t, r, "LABELS", sel, "testrun.dev/definition=api")
}

// delete behaves as kubectl delete: with several names, one of them missing, it deletes the others, names
// the missing one and exits non-zero (125); --dry-run=client deletes nothing; by default it returns once the
// run's Job and pods are gone.
func TestDeleteSeveralRunsWithOneMissing(t *testing.T) {
	ns := namespace(t)
	a := detach(t, ns, "a")
	wantCode(t, testrun(t, "wait", a, "-n", ns, "--timeout", "2m"), 0)

	r := testrun(t, "delete", a, "-n", ns, "--dry-run=client")
	wantCode(t, r, 0)
	if r.stdout != "run/"+a+" deleted (dry run)\n" || !jobExists(t, ns, a) {
		t.Fatalf("delete --dry-run=client printed %q and the Job exists: %v; want the dry-run line and the Job kept", r.stdout, jobExists(t, ns, a))
	}
	r = testrun(t, "delete", a, "-n", ns, "--dry-run=server")
	wantCode(t, r, 0)
	if !jobExists(t, ns, a) {
		t.Fatal("delete --dry-run=server deleted the Job")
	}

	r = testrun(t, "delete", a, "b-missing", "-n", ns)
	wantCode(t, r, 125)
	if r.stdout != "run/"+a+" deleted\n" {
		t.Errorf("delete %s b-missing printed %q, want run/%s deleted", a, r.stdout, a)
	}
	wantStderr(t, r, `run "b-missing" not found in namespace "`+ns+`"`)
	if jobExists(t, ns, a) {
		t.Errorf("delete %s b-missing left the Job of %s", a, a)
	}
	// --wait (the default) returned once the pods were gone too.
	pods, err := client.CoreV1().Pods(ns).List(context.WithoutCancel(t.Context()), metav1.ListOptions{LabelSelector: managedBy})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("after delete returned, %d pods of the run remain (%v), want none", len(pods.Items), err)
	}
	wantCode(t, testrun(t, "delete", "b-missing", "-n", ns, "--ignore-not-found"), 0)
	assertNothingLeft(t, ns)
}

// wantStdout fails the test unless stdout holds every part.
func wantStdout(t *testing.T, r result, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.stdout, p) {
			t.Errorf("stdout lacks %q: %s", p, r)
		}
	}
}
