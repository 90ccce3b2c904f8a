package interrupt

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// The first signal cancels with the signal as the cause, the second exits with its code at once; SIGPIPE
// never kills the process.
func TestContextFirstSignalCancelsSecondExits(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			exited := make(chan int, 1)
			ctx, cancel := Context(t.Context(), func(code int) { exited <- code })
			defer cancel(nil)
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatalf("%s did not cancel the context", sig)
			}
			if got, want := exitcode.Code(ctx, nil), exitcode.ForSignal(sig); got != want {
				t.Errorf("exit code after %s = %d, want %d (cause %v)", sig, got, want, context.Cause(ctx))
			}
			select {
			case code := <-exited:
				t.Fatalf("exited with %d after one signal: the first must only cancel", code)
			case <-time.After(100 * time.Millisecond):
			}
			if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-exited:
				if code != 130 {
					t.Errorf("second signal SIGINT exited with %d, want 130", code)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a second signal did not exit")
			}
		})
	}
}

// A write to a pipe whose reader is gone cancels the command as SIGPIPE, exit code 141, instead of killing it.
func TestOutputClosedPipeCancelsWith141(t *testing.T) {
	ctx, cancel := Context(t.Context(), func(int) {})
	defer cancel(nil)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close()
	out := Output(w, cancel)
	if _, err := out.Write([]byte("line\n")); err == nil {
		t.Fatal("write to a pipe without reader succeeded")
	}
	if ctx.Err() == nil {
		t.Fatal("EPIPE did not cancel the context")
	}
	if got := exitcode.Code(ctx, nil); got != 141 {
		t.Errorf("exit code = %d, want 141; cause %v", got, context.Cause(ctx))
	}
}

// The wrapper gives the file back through Unwrap: cli-runtime's terminal detection (moby/term GetFdInfo)
// looks for an *os.File, so terminal checks must unwrap it first.
func TestOutputUnwrapsToTheFile(t *testing.T) {
	_, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	out := Output(os.Stderr, cancel)
	f, ok := out.(interface{ Unwrap() *os.File })
	if !ok || f.Unwrap() != os.Stderr {
		t.Fatalf("Output(os.Stderr) does not give stderr back through Unwrap: %T", out)
	}
}
