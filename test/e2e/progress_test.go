//go:build e2e

package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
)

// These tests prove the progress reports of docs/run.md, "Progress": SIGUSR1 makes a running run, wait or
// logs -f print where the run stands without disturbing it, and --progress-every prints a heartbeat in CI.

// sleeper is a test that prints "started", prints nothing for silent (8s, 15s), then prints "slept" and
// exits 3.
func sleeper(silent string) []string {
	return []string{"--image", testee, "--env", "TESTEE_PRINT=started", "--env", "TESTEE_SLEEP=" + silent, "--env", "TESTEE_EXIT=3"}
}

// startFollower starts the plugin with args, collecting its stdout and stderr, and waits until stdout holds
// the line first (the test's own output: the run is following a running test).
func startFollower(t *testing.T, first string, args ...string) (*runningCmd, *syncBuffer, *syncBuffer) {
	t.Helper()
	p, stdout, stderr := startNumbered(t, args...)
	p.stderr = stderr
	waitLine(t, stdout, first, stderr)
	return p, stdout, stderr
}

// askProgress sends SIGUSR1 to the plugin and waits up to 10 s for the end of the report it prints on
// stderr, which it returns.
func askProgress(t *testing.T, cmd *exec.Cmd, stderr *syncBuffer) string {
	t.Helper()
	before := len(stderr.String())
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatalf("sending SIGUSR1: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := stderr.String()[before:]
		if i := strings.Index(got, "--- end of progress report\n"); i >= 0 {
			return got[:i+len("--- end of progress report\n")]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress report within 10s of SIGUSR1; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantReport checks that a progress report names the run, its pod with the test container running, the time
// spent and what the run waits for.
func wantReport(t *testing.T, report, run string, parts ...string) {
	t.Helper()
	for _, want := range append([]string{"--- progress of run " + run, "\nelapsed:     ", "\npod " + run, " Running on node ",
		"\n  test: running for ", "\nwaiting for: the test to end\n", "\nevents (the latest, oldest first):\n"}, parts...) {
		if !strings.Contains(report, want) {
			t.Errorf("the progress report lacks %q:\n%s", want, report)
		}
	}
}

// SIGUSR1 to a running `kubectl testrun run` prints a progress report on stderr, naming the pod and the time
// spent against --timeout, with the test's last output; the run goes on (the test's later output still
// comes), nothing of the report reaches stdout, and the command still exits with the test's code.
func TestSIGUSR1ReportsARunsProgressAndTheRunGoesOn(t *testing.T) {
	ns := namespace(t)
	p, stdout, stderr := startFollower(t, "started", append([]string{"run", "asked", "-n", ns, "--timeout", "10m"}, sleeper("10s")...)...)
	report := askProgress(t, p.cmd, stderr)
	wantReport(t, report, "asked-", " of --timeout 10m, ", "\noutput:      the last line came ", "\n  started\n")
	p.wantExit(t, "the test's end", 3, 2*time.Minute)
	if got := stdout.String(); got != "started\nslept\n" {
		t.Errorf("stdout = %q, want the test's two lines and nothing else", got)
	}
	wantText(t, stderr.String(), "failed: the test failed with exit code 3")
	assertNothingLeft(t, ns)
}

// The same for the verbs that follow a run started earlier: `wait` and `logs -f` each print a report when
// they get SIGUSR1, and go on to their normal end: wait with the test's code, logs -f with every line.
func TestSIGUSR1ReportsProgressOfWaitAndLogsFollow(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, append([]string{"run", "later", "-n", ns, "--detach"}, sleeper("15s")...)...)
	wantCode(t, r, 0)
	run := lastLine(r.stdout)

	logs, logsOut, logsErr := startFollower(t, "started", "logs", run, "-n", ns, "-f")
	wait, _, waitErr := startNumbered(t, "wait", run, "-n", ns, "--timeout", "5m")
	wait.stderr = waitErr
	waitLine(t, waitErr, "testrun: running", waitErr)

	wantReport(t, askProgress(t, wait.cmd, waitErr), run, " of --timeout 5m, ", "\n  started\n")
	wantReport(t, askProgress(t, logs.cmd, logsErr), run, ", no --timeout", "\n  started\n")

	wait.wantExit(t, "the test's end", 3, 2*time.Minute)
	logs.wantExit(t, "the test's end", 0, 2*time.Minute)
	if got := logsOut.String(); got != "started\nslept\n" {
		t.Errorf("logs -f printed %q on stdout, want the test's two lines and nothing else", got)
	}
	wantCode(t, testrun(t, "delete", run, "-n", ns), 0)
}

// Several runs at once (--selector): SIGUSR1 makes each print its own report, prefixed with its name.
func TestSIGUSR1ReportsEachOfSeveralRuns(t *testing.T) {
	ns := namespace(t)
	dir := t.TempDir()
	def := func(name string) string {
		return `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: ` + name + `
  labels: {suite: progress}
spec:
  image: ` + testee + `
  env:
  - {name: TESTEE_PRINT, value: "` + name + ` started"}
  - {name: TESTEE_SLEEP, value: 8s}
`
	}
	testkit.WriteFiles(t, dir, map[string]string{".testrun/alpha.yaml": def("alpha"), ".testrun/beta.yaml": def("beta")})
	cmd := command(t.Context(), pluginBin, "run", "--selector", "suite=progress", "-n", ns)
	cmd.Dir = dir
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &runningCmd{cmd: cmd, done: make(chan struct{}), stderr: stderr}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitLine(t, stdout, "[alpha] alpha started", stderr)
	waitLine(t, stdout, "[beta] beta started", stderr)

	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alpha", "beta"} {
		waitLine(t, stderr, "["+name+"] --- end of progress report", stderr)
		for _, want := range []string{"[" + name + "] --- progress of run " + name + "-", "[" + name + "] pod " + name + "-", "[" + name + "]   test: running for "} {
			wantText(t, stderr.String(), want)
		}
	}
	p.wantExit(t, "the tests' end", 0, 2*time.Minute)
	assertNothingLeft(t, ns)
}

// In CI (stderr not a terminal), --progress-every prints a heartbeat line on stderr while a test prints
// nothing, naming its silence; stdout holds the test's output alone.
func TestHeartbeatShowsLifeOfASilentTest(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, append([]string{"run", "silent", "-n", ns, "--timeout", "10m", "--progress-every", "2s"}, sleeper("8s")...)...)
	wantCode(t, r, 3)
	if r.stdout != "started\nslept\n" {
		t.Errorf("stdout = %q, want the test's two lines and nothing else", r.stdout)
	}
	beat := regexp.MustCompile(`(?m)^testrun: still running: \d+s of 10m, (last output \d+s ago|silent for \d+s \(the last output at \d\d:\d\d:\d\d\)), pod Running on node \S+$`)
	beats := beat.FindAllString(r.stderr, -1)
	if len(beats) < 2 {
		t.Fatalf("%d heartbeat lines during an 8s silence with --progress-every 2s, want at least 2:\n%s", len(beats), r.stderr)
	}
	if !strings.Contains(strings.Join(beats, "\n"), ", silent for ") {
		t.Errorf("no heartbeat names the test's silence:\n%s", r.stderr)
	}
	assertNothingLeft(t, ns)
}

// Without --progress-every, a run in CI prints no heartbeat before the default's 5 minutes: a short run's
// log is not cluttered.
func TestNoHeartbeatInAShortRunByDefault(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, append([]string{"run", "short", "-n", ns}, sleeper("3s")...)...)
	wantCode(t, r, 3)
	if strings.Contains(r.stderr, "still running") {
		t.Errorf("a heartbeat within the default interval:\n%s", r.stderr)
	}
}
