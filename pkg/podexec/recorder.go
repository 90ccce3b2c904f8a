package podexec

import (
	"context"
	"io"
	"strings"
	"sync"
)

// Recorder is an Executor for tests: it runs nothing, records each command as
// "namespace/pod/container: command args..." and returns Err.
type Recorder struct {
	mu    sync.Mutex
	calls []string
	// Err is what every Exec returns.
	Err error
}

// Exec implements Executor.
func (r *Recorder) Exec(_ context.Context, namespace, pod, container string, command []string, _ io.Reader, _, _ io.Writer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, namespace+"/"+pod+"/"+container+": "+strings.Join(command, " "))
	return r.Err
}

// Calls returns the commands recorded so far.
func (r *Recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}
