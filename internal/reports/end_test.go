package reports

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// awaitEnd runs awaitEndScript locally with shell argv against a control directory; the test's process is
// a real one of this machine, as in the pod, where the processes of its containers share one /proc.
type awaitEnd struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

func startAwaitEnd(t *testing.T, argv []string, dir string) *awaitEnd {
	t.Helper()
	a := &awaitEnd{done: make(chan error, 1)}
	a.cmd = exec.CommandContext(t.Context(), argv[0], append(argv[1:], awaitEndScript, "await-end", dir, "0.05", "4")...)
	a.cmd.Stdout = &a.out
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", argv[0], err)
	}
	go func() { a.done <- a.cmd.Wait() }()
	return a
}

// controlDir makes a control directory as the holder leaves it: the wake FIFO and the test's processes.
func controlDir(t *testing.T, fifo bool, pids string) string {
	t.Helper()
	dir := t.TempDir()
	if fifo {
		if err := syscall.Mkfifo(filepath.Join(dir, runspec.WakeBase), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, runspec.TestPidsBase), []byte(pids+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func busybox(t *testing.T) []string {
	t.Helper()
	path, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal("no busybox on PATH: install busybox-static")
	}
	return []string{path, "sh", "-c"}
}

func TestAwaitEndReturnsWhenTheTestsProcessesAreGone(t *testing.T) {
	test := exec.CommandContext(t.Context(), "sleep", "60")
	if err := test.Start(); err != nil {
		t.Fatal(err)
	}
	pid := test.Process.Pid
	a := startAwaitEnd(t, busybox(t), controlDir(t, true, " 1999999999 "+strconv.Itoa(pid)))

	select {
	case err := <-a.done:
		t.Fatalf("the wait ended while the test runs (%v), output %q", err, a.out.String())
	case <-time.After(700 * time.Millisecond):
	}
	// It waits without a process of its own: read -t on the FIFO.
	children, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(a.cmd.Process.Pid), "task", strconv.Itoa(a.cmd.Process.Pid), "children"))
	if err != nil {
		t.Fatal(err)
	}
	if c := strings.TrimSpace(string(children)); c != "" {
		t.Errorf("the waiting script has child processes %s, want none", c)
	}

	ended := time.Now()
	_ = test.Process.Kill()
	_ = test.Wait() // reaped, as the container's shim does: a zombie still has its /proc entry
	select {
	case err := <-a.done:
		if err != nil {
			t.Fatalf("the wait failed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end 10 s after the test's process was gone")
	}
	if took := time.Since(ended); took > 5*time.Second {
		t.Errorf("the wait ended %s after the test, want within its checks", took)
	}
	// Four checks of 50 ms make a heartbeat: the 700 ms above gave some.
	if got := a.out.String(); !strings.HasSuffix(got, "ended\n") || !strings.HasPrefix(got, ".") {
		t.Errorf("output %q, want heartbeats and then \"ended\"", got)
	}
}

func TestAwaitEndGivesUpWhereItCannotWaitWithoutProcesses(t *testing.T) {
	tests := map[string]struct {
		argv []string
		fifo bool
	}{
		"no wake FIFO": {argv: busybox(t), fifo: false},
	}
	if dash, err := exec.LookPath("dash"); err == nil {
		tests["a shell without read -t"] = struct {
			argv []string
			fifo bool
		}{argv: []string{dash, "-c"}, fifo: true}
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			// The test still runs (this process): only giving up can end the wait.
			a := startAwaitEnd(t, tt.argv, controlDir(t, tt.fifo, strconv.Itoa(os.Getpid())))
			select {
			case err := <-a.done:
				var exit *exec.ExitError
				if err == nil || !errors.As(err, &exit) || exit.ExitCode() != 3 {
					t.Errorf("the wait ended with %v, want exit code 3", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the wait did not give up")
			}
		})
	}
}
