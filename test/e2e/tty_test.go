//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
)

// sgr matches the colour and style escape sequences the plugin writes.
var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// runOnATerminal runs the plugin with args, its stderr a pseudo-terminal of cols columns (stdout a pipe), and
// returns what the terminal received, its stdout and its exit code.
func runOnATerminal(t *testing.T, cols uint16, args ...string) (terminal, stdout string, code int) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: cols}); err != nil {
		t.Fatalf("setting the terminal to %d columns: %v", cols, err)
	}
	cmd := command(t.Context(), pluginBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The plugin holds the terminal now; once it exits, reading the other side ends (EIO).
	_ = tty.Close()
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		_, _ = io.Copy(&screen, ptmx)
	}()
	err = cmd.Wait()
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal was not closed 10s after the plugin exited")
	}
	var exit interface{ ExitCode() int }
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return screen.String(), out.String(), code
}

// statusFrames returns the status lines a terminal was shown: each text drawn after the line was cleared
// ("\r\x1b[K") that was cleared again without a newline, that is, redrawn in place.
func statusFrames(terminal string) []string {
	var frames []string
	for _, seg := range strings.Split(terminal, "\r\x1b[K") {
		if seg != "" && !strings.ContainsAny(seg, "\r\n") {
			frames = append(frames, seg)
		}
	}
	return frames
}

// On a terminal narrower than the status line, the line is cut to the terminal's width instead of wrapping:
// a wrapped line could not be cleared in place, and every redraw would leave a fragment of it on the screen.
func TestStatusLineOnANarrowTerminalIsCutToItsWidth(t *testing.T) {
	ns := namespace(t)
	const cols = 30
	terminal, stdout, code := runOnATerminal(t, cols, "run", "narrow-terminal", "-n", ns, "--image", testee, "--env", "TESTEE_SLEEP=3s")
	if code != 0 || stdout != "slept\n" {
		t.Fatalf("run on a %d-column terminal: exit code %d, stdout %q; want 0 and the test's line\nterminal:\n%q", cols, code, stdout, terminal)
	}
	frames := statusFrames(terminal)
	cut := 0
	for _, f := range frames {
		plain := sgr.ReplaceAllString(f, "")
		if n := utf8.RuneCountInString(plain); n >= cols {
			t.Errorf("status line %q takes %d cells on a %d-column terminal: it wraps", plain, n, cols)
		}
		if strings.Contains(plain, "…") {
			cut++
		}
		if !strings.HasPrefix(plain, "testrun: ") {
			t.Errorf("status line %q does not start with the plugin's prefix", plain)
		}
	}
	// "testrun: waiting for the pod (0s)" and the other waits are longer than 29 cells: at least one was cut.
	t.Logf("%d status lines on the %d-column terminal, %d cut: %q", len(frames), cols, cut, frames)
	if len(frames) < 2 || cut == 0 {
		t.Errorf("%d status lines, %d of them cut, want several and at least one cut; terminal:\n%q", len(frames), cut, terminal)
	}
	if !strings.Contains(terminal, "testrun: passed: run narrow-terminal-") {
		t.Errorf("the terminal lacks the verdict line:\n%q", terminal)
	}
	assertNothingLeft(t, ns)
}

// --color=always into a pipe (CI that renders colours) colours every line of the plugin's own, the status
// changes and the verdict included, not only the first.
func TestColorAlwaysIntoAPipeColoursEveryLine(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "coloured", "-n", ns, "--image", testee, "--env", "TESTEE_LINES=2", "--color=always")
	wantCode(t, r, 0)
	var plugin int
	for _, l := range lines(r.stderr) {
		if !strings.HasPrefix(sgr.ReplaceAllString(l, ""), "testrun:") {
			continue
		}
		plugin++
		if !strings.HasPrefix(l, "\x1b[") {
			t.Errorf("line %d of the plugin's is not coloured: %q", plugin, l)
		}
	}
	// created, waiting…, running, exited, deleted, passed.
	if plugin < 5 {
		t.Errorf("%d lines of the plugin's on stderr, want at least 5:\n%s", plugin, r.stderr)
	}
	if sgr.MatchString(r.stdout) {
		t.Errorf("the test's output on stdout was coloured: %q", r.stdout)
	}
}

// valueColumn returns where the value of the field named label starts in out's line holding it, and the
// lines after it.
func valueColumn(t *testing.T, out, label string) (int, []string) {
	t.Helper()
	ls := lines(out)
	for i, l := range ls {
		if j := strings.Index(l, label); j >= 0 {
			rest := l[j+len(label):]
			return j + len(label) + len(rest) - len(strings.TrimLeft(rest, " ")), ls[i+1:]
		}
	}
	t.Fatalf("no %q in:\n%s", label, out)
	return 0, nil
}

// A test that fails with a three-line termination message: describe (and the diagnostics file) show each
// line of it in the value column of the container's Message field, and the fields after it stay aligned.
// list --template without -o is a go-template, as in kubectl get.
func TestMultiLineTerminationMessageKeepsDescribesIndentation(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "lines", "-n", ns, "--image", testee, "--keep",
		"--env", `TESTEE_FILES=/dev/termination-log=text:first line\nsecond line\nthird line\n`, "--env", "TESTEE_EXIT=1")
	wantCode(t, r, 1)
	diagnostics, err := os.ReadFile(diagnosticsPath(t, r))
	if err != nil {
		t.Fatal(err)
	}
	run := strings.TrimSpace(testrun(t, "list", "-n", ns, "--template", `{{range .items}}{{.metadata.name}}{{"\n"}}{{end}}`).stdout)
	if !strings.HasPrefix(run, "lines-") || strings.Contains(run, "\n") {
		t.Fatalf("list --template printed %q, want the one run's name", run)
	}
	d := testrun(t, "describe", run, "-n", ns)
	wantCode(t, d, 0)
	for what, out := range map[string]string{"describe": d.stdout, "the diagnostics file": string(diagnostics)} {
		_, pod, ok := strings.Cut(out, "--- describe pod "+run)
		if !ok {
			t.Fatalf("%s has no describe of the pod:\n%s", what, out)
		}
		col, after := valueColumn(t, pod, "Message:")
		if len(after) < 3 {
			t.Fatalf("%s ends after the message:\n%s", what, pod)
		}
		for i, want := range []string{"second line", "third line"} {
			if got := after[i]; strings.TrimLeft(got, " ") != want || len(got)-len(want) != col {
				t.Errorf("%s: line %d of the message is %q, want %q starting in column %d, under the first", what, i+2, got, want, col)
			}
		}
		if exit, _ := valueColumn(t, after[2], "Exit Code:"); exit != col {
			t.Errorf("%s: the field after the message starts its value in column %d, want %d: %q", what, exit, col, after[2])
		}
	}
	wantCode(t, testrun(t, "delete", run, "-n", ns), 0)
}

// list -w shows a run appear and change status: it lists the (empty) namespace, then prints the run's row
// again at each change until its status is the end.
func TestListWatchShowsARunAppearAndEnd(t *testing.T) {
	ns := namespace(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	watch := command(ctx, pluginBin, "list", "-n", ns, "-w")
	var out, errOut syncBuffer
	watch.Stdout, watch.Stderr = &out, &errOut
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = watch.Wait()
		close(done)
	}()
	defer func() {
		_ = watch.Process.Kill()
		<-done
	}()
	// list -w has listed the empty namespace (it says so on stderr) before the run exists.
	waitFor(t, time.Minute, "list -w to list the empty namespace", func(context.Context) (bool, error) {
		return strings.Contains(errOut.String(), "No runs"), nil
	})
	r := testrun(t, "run", "watched", "-n", ns, "--detach", "--image", testee, "--env", "TESTEE_SLEEP=3s")
	wantCode(t, r, 0)
	run := lastLine(r.stdout)
	row := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(run) + `\s+(\S+)\s`)
	waitFor(t, 2*time.Minute, "list -w to show "+run+" Passed", func(context.Context) (bool, error) {
		m := row.FindAllStringSubmatch(out.String(), -1)
		return len(m) > 0 && m[len(m)-1][1] == "Passed", nil
	})
	var statuses []string
	for _, m := range row.FindAllStringSubmatch(out.String(), -1) {
		statuses = append(statuses, m[1])
	}
	if len(statuses) < 2 || (statuses[0] != "Pending" && statuses[0] != "Running") {
		t.Errorf("list -w showed %s with the statuses %q, want it first Pending or Running, then Passed:\n%s", run, statuses, out.String())
	}
	select {
	case <-done:
		t.Errorf("list -w ended by itself after the run ended; stderr:\n%s", errOut.String())
	default:
	}
}

// logs -c holder shows the holder's log (what kubectl logs -c holder shows), -c fetch the fetch containers'
// (and fails naming the pod when the run's reports were never fetched), --prefix prefixes one log's lines
// with [pod/container] as kubectl logs --prefix does, and --since-time starts at a time: between a test's
// two lines, only the second.
func TestLogsContainersPrefixAndSinceTime(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "twolines", "-n", ns, "--keep", "--reports", t.TempDir(), "--image", testee,
		"--env", "TESTEE_PRINT=first", "--env", "TESTEE_SLEEP=3s")
	wantCode(t, r, 0)
	fetched := strings.TrimSpace(testrun(t, "list", "-n", ns, "-o", "jsonpath={.items[0].metadata.name}").stdout)
	pod := strings.TrimSpace(kubectl(t, "-n", ns, "get", "pods", "-l", "testrun.dev/name="+fetched, "-o", "jsonpath={.items[0].metadata.name}"))
	unfetched := detach(t, ns, "unfetched")
	wantCode(t, testrun(t, "wait", unfetched, "-n", ns, "--timeout", "2m"), 0)

	holder := testrun(t, "logs", fetched, "-n", ns, "-c", "holder")
	wantCode(t, holder, 0)
	if want := kubectl(t, "-n", ns, "logs", pod, "-c", "holder"); holder.stdout != want {
		t.Errorf("logs -c holder printed %q, want the holder's log as kubectl logs shows it: %q", holder.stdout, want)
	}
	wantCode(t, testrun(t, "logs", fetched, "-n", ns, "-c", "fetch"), 0)
	noFetch := testrun(t, "logs", unfetched, "-n", ns, "-c", "fetch")
	wantCode(t, noFetch, 125)
	wantStderr(t, noFetch, `no fetch container ran in pod "`+unfetched+`-`, "run --reports, or kubectl testrun fetch")

	prefixed := testrun(t, "logs", fetched, "-n", ns, "--prefix")
	wantCode(t, prefixed, 0)
	if want := "[" + pod + "/test] first\n[" + pod + "/test] slept\n"; prefixed.stdout != want {
		t.Errorf("logs --prefix printed %q, want %q", prefixed.stdout, want)
	}

	stamped := testrun(t, "logs", fetched, "-n", ns, "--timestamps")
	wantCode(t, stamped, 0)
	ls := lines(stamped.stdout)
	if len(ls) != 2 {
		t.Fatalf("logs --timestamps printed %q, want two lines", stamped.stdout)
	}
	var at [2]time.Time
	for i, l := range ls {
		stamp, _, _ := strings.Cut(l, " ")
		var err error
		if at[i], err = time.Parse(time.RFC3339Nano, stamp); err != nil {
			t.Fatalf("logs --timestamps line %q: %v", l, err)
		}
	}
	between := at[0].Add(at[1].Sub(at[0]) / 2).Format(time.RFC3339Nano)
	since := testrun(t, "logs", fetched, "-n", ns, "--since-time", between)
	wantCode(t, since, 0)
	if since.stdout != "slept\n" {
		t.Errorf("logs --since-time %s (between %s and %s) printed %q, want the second line only", between, at[0].Format(time.RFC3339Nano), at[1].Format(time.RFC3339Nano), since.stdout)
	}
	wantCode(t, testrun(t, "delete", fetched, unfetched, "-n", ns), 0)
}

// describe takes several runs and -l; wait over several runs waits for each and exits with the first failing
// run's code in the order given (oldest first with -l), as docs/lifecycle.md says.
func TestDescribeAndWaitTakeSeveralRuns(t *testing.T) {
	ns := namespace(t)
	start := func(name, exit string) string {
		t.Helper()
		r := testrun(t, "run", name, "-n", ns, "--detach", "--label", "group=several", "--image", testee, "--env", "TESTEE_PRINT="+name, "--env", "TESTEE_EXIT="+exit)
		wantCode(t, r, 0)
		// Creation times have whole seconds: -l orders by them.
		time.Sleep(time.Second)
		return lastLine(r.stdout)
	}
	passes, fails3, fails5 := start("passes", "0"), start("fails-three", "3"), start("fails-five", "5")

	var wg sync.WaitGroup
	codes := map[string]int{}
	var mu sync.Mutex
	for name, args := range map[string][]string{
		"in order":       {passes, fails3, fails5},
		"reversed":       {fails5, fails3, passes},
		"by label":       {"-l", "group=several"},
		"the passed one": {passes},
	} {
		wg.Go(func() {
			r := testrun(t, append([]string{"wait", "-n", ns, "--timeout", "3m"}, args...)...)
			mu.Lock()
			defer mu.Unlock()
			codes[name] = r.code
		})
	}
	wg.Wait()
	want := map[string]int{"in order": 3, "reversed": 5, "by label": 3, "the passed one": 0}
	for name, code := range want {
		if codes[name] != code {
			t.Errorf("wait %s exited %d, want %d (the first failing run's code in the order given)", name, codes[name], code)
		}
	}

	// A run's own part starts with its Name, Namespace and Status; the describe output of its Job and pod
	// in the diagnostics of a failed run has other fields after Namespace.
	names := regexp.MustCompile(`(?m)^Name:\s+(\S+)\nNamespace:\s+\S+\nStatus:`)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{fails5, passes}, []string{fails5, passes}},
		{[]string{"-l", "group=several"}, []string{passes, fails3, fails5}},
	} {
		r := testrun(t, append([]string{"describe", "-n", ns}, tc.args...)...)
		wantCode(t, r, 0)
		var got []string
		for _, m := range names.FindAllStringSubmatch(r.stdout, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("describe %s described %q, want %q in that order", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	wantCode(t, testrun(t, "delete", "-n", ns, "-l", "group=several"), 0)
	assertNothingLeft(t, ns)
}
