package reports

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/logs"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
)

// awaitEndScript returns when no process of the test is left: the processes the holder recorded in
// runspec.TestPidsFile when it started (the test container starts before it; see runspec's holderScript).
// $1 is the run's control directory as the container it runs in mounts it, $2 the seconds between checks,
// $3 the checks between two heartbeats: a "." on stdout now and then, so that no proxy on the way closes the
// stream as idle. It prints "ended" at the end. Like the holder it starts no process while it waits: it
// waits with `read -t` on the wake FIFO; a shell without `read -t` (dash), or a holder that made no FIFO,
// makes it exit 3 at once, and the run learns the test's end from the pod's status alone.
const awaitEndScript = `pids=$1/` + runspec.TestPidsBase + ` wake=$1/` + runspec.WakeBase + `
[ -p "$wake" ] && { read -t 0 _ <> "$wake"; [ $? -le 1 ]; } 2>/dev/null || exit 3
n=0
until [ -s "$pids" ]; do
  n=$((n + 1))
  [ "$n" -le 100 ] || exit 4
  read -t "$2" _ <> "$wake"
done
read -r test < "$pids"
n=0
while :; do
  alive=
  for p in $test; do
    if [ -d "/proc/$p" ]; then alive=1; break; fi
  done
  [ -n "$alive" ] || break
  n=$((n + 1))
  [ $((n % $3)) -ne 0 ] || printf .
  read -t "$2" _ <> "$wake"
done
echo ended
`

// endChecks is how often the exec of AwaitEnd looks for the test's processes, in seconds (as `read -t`
// takes it), and endHeartbeat after how many checks it writes a heartbeat (30 s).
const (
	endChecks    = "0.1"
	endHeartbeat = "300"
)

// AwaitEnd tells the end of the test sooner than the pod's status can: the kubelet reports a container's
// exit at its next relist, up to a second or two later, and only then could the reports be copied and the
// holder released, which costs a second relist before the pod finishes. Once the holder runs and the test
// has started, it starts an exec in the holder (which runs from the pod's start, and mounts the control
// volume) that returns when no process of the test is left; the channel then gets nil. Copying the reports
// (CopyEarly) and releasing the holder at that moment lets the kubelet see the test and the holder end
// together (docs/performance.md, "The early end"). The test's exit code still comes from the pod's status.
//
// It returns nil (no channel) while it cannot start yet; the channel gets an error when the exec failed or
// the helper's shell cannot wait this way, and then the status alone tells the end, as it always may.
func (c *ReportCopier) AwaitEnd(ctx context.Context, pod *corev1.Pod) <-chan error {
	if c.container == "" || pod == nil || !logs.ContainerEverStarted(pod, runspec.TestContainer) || !holderRunning(pod) {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		var out lastBytes
		command := []string{"sh", "-c", awaitEndScript, "await-end", runspec.ControlDir, endChecks, endHeartbeat}
		err := c.Fetcher.Exec.Exec(ctx, pod.Namespace, pod.Name, runspec.HolderContainer, command, nil, &out, io.Discard)
		if err == nil && !strings.HasSuffix(strings.TrimSpace(string(out.b)), "ended") {
			err = fmt.Errorf("the wait for the test's end said %q", out.b)
		}
		if err != nil {
			err = errors.Join(errors.New("the test's end is told by the pod's status alone"), err)
		}
		done <- err
	}()
	return done
}

// CopyEarly is the copy made when AwaitEnd saw the test's processes gone, before the pod's status says so;
// quiet (see CopyQuietly). A fetch container that does not run yet would make it wait for the kubelet: where
// that container would read as the holder does (the same user: the test gives no non-root user of its own),
// it copies through the holder instead.
func (c *ReportCopier) CopyEarly(ctx context.Context, pod *corev1.Pod) *outcome.Reports {
	if c.container != runspec.HolderContainer && readerSecurity(pod) == nil {
		if ok, _ := fetch.Running(pod, c.container); !ok {
			through := *c
			through.container, through.dir = runspec.HolderContainer, runspec.HolderReportsDir
			return through.CopyQuietly(ctx, pod)
		}
	}
	return c.CopyQuietly(ctx, pod)
}

// holderRunning tells whether the holder of pod runs, as its status says.
func holderRunning(pod *corev1.Pod) bool {
	s := outcome.ContainerStatus(pod, runspec.HolderContainer)
	return s != nil && s.State.Running != nil
}

// lastBytes keeps the last bytes written to it: the end of a stream that may be long.
type lastBytes struct{ b []byte }

const lastBytesKept = 64

func (l *lastBytes) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > lastBytesKept {
		l.b = append(l.b[:0], l.b[len(l.b)-lastBytesKept:]...)
	}
	return len(p), nil
}
