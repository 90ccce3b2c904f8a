package fetch

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lingering is the fetch container's script running locally with busybox, its control directory and
// termination log in a temporary directory.
type lingering struct {
	cmd              *exec.Cmd
	control, termLog string
	began            time.Time
}

func startLinger(t *testing.T, seconds, pollSeconds string, fifo bool) *lingering {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal("no busybox on PATH: install busybox-static")
	}
	dir := t.TempDir()
	l := &lingering{control: filepath.Join(dir, "control"), termLog: filepath.Join(dir, "termination-log")}
	if err := os.Mkdir(l.control, 0o755); err != nil {
		t.Fatal(err)
	}
	if fifo {
		if err := syscall.Mkfifo(filepath.Join(l.control, "wake"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := strings.NewReplacer(ControlDir, l.control, terminationLog, l.termLog).Replace(lingerScript)
	l.cmd = exec.CommandContext(t.Context(), busybox, "sh", "-c", script, "linger", seconds)
	l.cmd.Env = append(os.Environ(), envPollSeconds+"="+pollSeconds)
	l.began = time.Now()
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *lingering) wait(t *testing.T) time.Duration {
	t.Helper()
	if err := l.cmd.Wait(); err != nil {
		t.Fatalf("the fetch container's script must exit 0, got: %v", err)
	}
	return time.Since(l.began)
}

// Each way out of the fetch container's wait: the release file, the plugin's Finish, the linger time, SIGTERM.
func TestLingerScriptEndsEachWay(t *testing.T) {
	tests := []struct {
		name            string
		linger          string
		act             func(t *testing.T, l *lingering)
		atLeast, atMost time.Duration
	}{
		{name: "released", linger: "600", act: func(t *testing.T, l *lingering) {
			time.Sleep(300 * time.Millisecond)
			if err := os.WriteFile(filepath.Join(l.control, "release"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, atLeast: 300 * time.Millisecond, atMost: 5 * time.Second},
		{name: "finished", linger: "600", act: func(t *testing.T, l *lingering) {
			time.Sleep(300 * time.Millisecond)
			if err := os.WriteFile(l.termLog, []byte(finishScript), 0o644); err != nil {
				t.Fatal(err)
			}
		}, atLeast: 300 * time.Millisecond, atMost: 5 * time.Second},
		{name: "linger time over", linger: "1", act: func(*testing.T, *lingering) {}, atLeast: time.Second, atMost: 6 * time.Second},
		{name: "SIGTERM", linger: "600", act: func(t *testing.T, l *lingering) {
			time.Sleep(300 * time.Millisecond)
			if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}, atLeast: 300 * time.Millisecond, atMost: 5 * time.Second},
	}
	for _, tt := range tests {
		for _, fifo := range []bool{true, false} {
			t.Run(tt.name+"/fifo="+strconv.FormatBool(fifo), func(t *testing.T) {
				t.Parallel()
				l := startLinger(t, tt.linger, "", fifo)
				tt.act(t, l)
				if took := l.wait(t); took < tt.atLeast || took > tt.atMost {
					t.Errorf("the script exited after %s, want between %s and %s", took, tt.atLeast, tt.atMost)
				}
			})
		}
	}
}

// Waiting on the wake FIFO starts no process, and a line written to it ends the wait at once: here each wait
// lasts 60 s, so only the FIFO can end it within the test's time.
func TestLingerScriptWaitsWithoutProcessesOnTheWakeFIFO(t *testing.T) {
	l := startLinger(t, "600", "60", true)
	time.Sleep(500 * time.Millisecond)
	pid := strconv.Itoa(l.cmd.Process.Pid)
	children, err := os.ReadFile(filepath.Join("/proc", pid, "task", pid, "children"))
	if err != nil {
		t.Fatal(err)
	}
	if c := strings.TrimSpace(string(children)); c != "" {
		t.Errorf("the waiting script has child processes %s, want none", c)
	}
	if err := os.WriteFile(filepath.Join(l.control, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(l.control, "wake"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("\n\n"); err != nil {
		t.Fatal(err)
	}
	if took := l.wait(t); took > 30*time.Second {
		t.Errorf("the script exited %s after its start, want it woken by the FIFO long before its 60 s wait ended", took)
	}
}
