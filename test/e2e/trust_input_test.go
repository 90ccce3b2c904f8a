//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A CI job that passes a report destination, a limit or a duration that cannot work learns it before
// anything is created in the cluster: exit 125, the flag and the fix named, and no Job in the namespace. What
// the error echoes of the input reaches the terminal with its escapes neutralised.
func TestUnusableReportDestinationsLimitsAndDurationsAreRefusedBeforeAnythingIsCreated(t *testing.T) {
	ns := namespace(t)
	dir := t.TempDir()
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "gone"), dangling); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := []string{"run", "refused", "-n", ns, "--image", testee}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"reports in /proc", append(run, "--reports", "/proc/x"), []string{`--reports "/proc/x" cannot be created`, "choose a directory you can create and write"}},
		{"reports behind a dangling symlink", append(run, "--reports", dangling), []string{`--reports "` + dangling + `" is a symbolic link to`, "which does not exist"}},
		{"reports under a file", append(run, "--reports", filepath.Join(file, "out")), []string{`--reports "` + filepath.Join(file, "out") + `" cannot be used`, "not a directory"}},
		{"a negative byte limit", append(run, "--reports", filepath.Join(dir, "ok"), "--max-bytes", "-1"), []string{"--max-bytes -1 is not positive"}},
		{"no file allowed", append(run, "--max-files", "0"), []string{"--max-files 0 is not positive"}},
		{"a deadline that overflows", append(run, "--timeout", "2562047h", "--hold", "2562047h"), []string{"lower --timeout or --hold"}},
		{"a deadline that overflows, in a dry run", append(run, "--timeout", "2562047h", "--hold", "2562047h", "--dry-run=client", "-o", "yaml"), []string{"lower --timeout or --hold"}},
		{"a grace period that overflows", append(run, "--grace-period", "2562047h"), []string{"lower --grace-period"}},
		{"a broken dump selector", append(run, "--dump-selector", "app in (api"), []string{`--dump-selector "app in (api" is not a label selector`}},
		{"a terminal escape in a flag", append(run, "--\x1b[2Jx"), []string{"unknown flag: --^[[2Jx"}},
		{"fetch into /proc", []string{"fetch", "some-run", "-n", ns, "--to", "/proc/x"}, []string{`--to "/proc/x" cannot be created`}},
		{"fetch with a negative limit", []string{"fetch", "some-run", "-n", ns, "--to", filepath.Join(dir, "f"), "--max-file-bytes", "-5"}, []string{"--max-file-bytes -5 is not positive"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testrun(t, tc.args...)
			wantCode(t, r, 125)
			wantStderr(t, r, tc.want...)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing (no Job printed or created)", r.stdout)
			}
			if strings.Contains(r.stderr, "\x1b") {
				t.Errorf("stderr holds a raw terminal escape: %q", r.stderr)
			}
		})
	}
	assertNothingLeft(t, ns)
	if _, err := os.Lstat(filepath.Join(dir, "ok")); !os.IsNotExist(err) {
		t.Errorf("a refused run left its --reports directory behind (Lstat: %v)", err)
	}
}

// maxRSSMiB is the largest resident set a refused hostile file may cost the plugin: its own baseline plus
// the 1 MiB it may read, with room.
const maxRSSMiB = 150

// A hostile definition in a pull request cannot take down the CI runner: an endless file, a FIFO fed forever
// and an alias bomb are refused with the file and the cap named, using little memory.
func TestHostileDefinitionFilesAreRefusedWithBoundedMemory(t *testing.T) {
	ns := namespace(t)
	dir := t.TempDir()

	// 160 KB: one 80 KB anchor referenced 20,000 times, 1.6 GB once expanded.
	bomb := filepath.Join(dir, "bomb.yaml")
	doc := "apiVersion: testrun.dev/v1alpha1\nkind: TestDefinition\nmetadata:\n  name: bomb\nspec:\n  image: " + testee +
		"\n  env:\n  - name: A\n    value: &a " + strings.Repeat("x", 80<<10) + "\n  args: [" + strings.TrimSuffix(strings.Repeat("*a,", 20000), ",") + "]\n"
	if err := os.WriteFile(bomb, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}

	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go feedForever(t.Context(), fifo)

	// A .testrun/ directory holding a FIFO: found by --definition, refused without being opened.
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(filepath.Join(repo, ".testrun"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(repo, ".testrun", "e2e.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		dir  string
		args []string
		want []string
	}{
		{"an endless file", "", []string{"-f", "/dev/zero"}, []string{`"/dev/zero" holds more than 1048576 bytes`, "give a smaller file"}},
		{"a FIFO fed forever", "", []string{"-f", fifo}, []string{`"` + fifo + `" holds more than 1048576 bytes`}},
		{"an alias bomb", "", []string{"-f", bomb}, []string{`definition file "` + bomb + `": its YAML aliases (*name) expand it to more than`}},
		{"a FIFO among the definitions", repo, []string{"--definition", "e2e"}, []string{`".testrun/e2e.yaml" is not a regular file`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := command(t.Context(), pluginBin, append([]string{"run", "-n", ns}, tc.args...)...)
			cmd.Dir = tc.dir
			resetPeakRSS(t)
			r := run(t, cmd)
			wantCode(t, r, 125)
			wantStderr(t, r, tc.want...)
			if rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss / 1024; rss > maxRSSMiB {
				t.Errorf("the plugin reached %d MiB of resident memory refusing %s, want at most %d MiB", rss, tc.name, maxRSSMiB)
			}
		})
	}
	assertNothingLeft(t, ns)
}

// feedForever writes to the FIFO at path until its reader closes it or ctx ends.
func feedForever(ctx context.Context, path string) {
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer w.Close()
	context.AfterFunc(ctx, func() { _ = w.Close() })
	_, _ = io.Copy(w, zeros{})
}

// zeros reads as an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A test that passed but whose report file could not be brought home (unreadable, over a --max-* limit) does
// not exit 0: CI learns which file and why, and the result document says so. A test that failed keeps its
// own code.
func TestAPassedTestWhoseReportIsUnreadableExitsNonZeroNamingTheFile(t *testing.T) {
	ns := namespace(t)
	script := `echo open > /reports/open.txt; echo private > /reports/private.txt; chmod 600 /reports/private.txt; exit $CODE`
	out := filepath.Join(t.TempDir(), "out")
	r := testrun(t, "run", "unreadable", "-n", ns, "--image", busybox, "--reports", out, "-o", "json", "--env", "CODE=0", "--", "sh", "-c", script)
	wantCode(t, r, 125)
	wantStderr(t, r, "the test passed, but its reports did not all come home whole, so the run exits 125", "private.txt", "Permission denied")
	var doc struct {
		Phase    string `json:"phase"`
		ExitCode int    `json:"exitCode"`
		Reason   string `json:"reason"`
		Reports  struct {
			Error string `json:"error"`
		} `json:"reports"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("result document: %v\n%s", err, r)
	}
	if doc.ExitCode != 125 || doc.Reason != "ReportsIncomplete" || !strings.Contains(doc.Reports.Error, "private.txt") {
		t.Errorf("result document says exit code %d, reason %q, reports error %q; want 125, ReportsIncomplete and private.txt named", doc.ExitCode, doc.Reason, doc.Reports.Error)
	}
	assertNothingLeft(t, ns)

	// A report over a limit of the extractor: the same.
	out = filepath.Join(t.TempDir(), "out")
	r = testrun(t, "run", "too-large", "-n", ns, "--image", testee, "--reports", out, "--max-file-bytes", "100",
		"--env", "TESTEE_FILES=big.bin=random:1000")
	wantCode(t, r, 125)
	wantStderr(t, r, "so the run exits 125", "big.bin", "--max-file-bytes")
	assertNothingLeft(t, ns)

	out = filepath.Join(t.TempDir(), "out")
	r = testrun(t, "run", "unreadable-failed", "-n", ns, "--image", busybox, "--reports", out, "--env", "CODE=3", "--", "sh", "-c", script)
	wantCode(t, r, 3)
	wantStderr(t, r, "private.txt")
	assertNothingLeft(t, ns)
}

// A --helper-image that cannot run the holder and the fetch container (here one without a shell) fails the
// run while the test still runs, with 125 naming the flag, instead of losing the reports when it ended.
func TestAHelperImageWithoutAShellFailsTheRunBeforeTheTestEnds(t *testing.T) {
	ns := namespace(t)
	out := filepath.Join(t.TempDir(), "out")
	r := testrun(t, "run", "helper", "-n", ns, "--image", testee, "--helper-image", testee, "--reports", out,
		"--env", "TESTEE_SLEEP=5m")
	wantCode(t, r, 125)
	wantStderr(t, r, `"`+testee+`"`, "--helper-image")
	if strings.Contains(r.stdout, "slept") {
		t.Errorf("the run waited for the test to end:\n%s", r)
	}
	assertNothingLeft(t, ns)
}

// fetch pod/NAME --path FILE copies one file, byte for byte, from a pod the plugin did not create, on a volume
// and on the container's own filesystem; once the copy is done no fetch container runs in that pod.
func TestFetchASingleFileFromAForeignPodLeavesNothingRunning(t *testing.T) {
	ns := namespace(t)
	startForeignPod(t, ns, `printf 'a\r\nb\000c' > /work/result.bin && mkdir -p /opt/out && echo inside > /opt/out/own.txt`)

	for _, tc := range []struct{ path, name, want string }{
		{"/work/result.bin", "result.bin", "a\r\nb\x00c"},
		{"/opt/out/own.txt", "own.txt", "inside\n"},
	} {
		out := filepath.Join(t.TempDir(), "out")
		r := testrun(t, "fetch", "pod/app", "-n", ns, "--path", tc.path, "--to", out)
		wantCode(t, r, 0)
		if b, err := os.ReadFile(filepath.Join(out, tc.name)); err != nil || string(b) != tc.want {
			t.Errorf("fetched %s = %q (%v), want %q\n%s", tc.path, b, err, tc.want, r)
		}
		entries, _ := os.ReadDir(out)
		if len(entries) != 1 {
			t.Errorf("fetch of the file %s wrote %d entries into --to, want the file alone", tc.path, len(entries))
		}
	}

	var p *corev1.Pod
	waitFor(t, 30*time.Second, "every fetch container of pod app to have exited", func(ctx context.Context) (bool, error) {
		var err error
		if p, err = client.CoreV1().Pods(ns).Get(ctx, "app", metav1.GetOptions{}); err != nil {
			return false, err
		}
		done := len(p.Status.EphemeralContainerStatuses) == 2
		for _, s := range p.Status.EphemeralContainerStatuses {
			done = done && s.State.Terminated != nil
		}
		return done, nil
	})
	for _, s := range p.Status.EphemeralContainerStatuses {
		if s.State.Terminated.ExitCode != 0 {
			t.Errorf("fetch container %s exited with %d (%s), want 0", s.Name, s.State.Terminated.ExitCode, s.State.Terminated.Message)
		}
	}
}

// resetPeakRSS lowers this test process's peak resident set size to what it uses now. os/exec starts a
// child by vfork, and Linux carries the parent's peak into the child's ru_maxrss across exec: without this,
// the plugin's measured peak would be the test binary's own (hundreds of MiB after the log tests).
func resetPeakRSS(t *testing.T) {
	t.Helper()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("resetting the peak RSS (/proc/self/clear_refs): %v", err)
	}
}
