// Package interrupt turns every way a CI system or a terminal ends the plugin into one cancellation: SIGINT,
// SIGTERM and SIGHUP, and an output whose reader went away (EPIPE on stdout or stderr). Each cancels the
// command's context with an exitcode.InterruptError as its cause, so commands stop waiting, clean up within
// their budget and exit with the signal's code (docs/exit-codes.md); a second signal exits at once.
//
// SIGUSR1 (and SIGINFO) is the opposite: it stops nothing, and asks every follower of a run for a progress
// report (InfoRequests).
package interrupt

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// Signals are the signals that interrupt a command.
var Signals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// Context returns a context that is cancelled, with the signal as its cause, by the first of Signals; the
// second one calls exit with the signal's code without waiting for the cleanup. SIGPIPE is ignored, so that a
// closed stdout or stderr shows as an EPIPE write error (see Output) instead of killing the process before
// it cleans up; a SIGPIPE from a network connection is then ignored too, as it should be.
func Context(parent context.Context, exit func(code int)) (context.Context, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	signal.Ignore(syscall.SIGPIPE)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, Signals...)
	go func() {
		select {
		case s := <-signals:
			cancel(exitcode.Interrupted(s.(syscall.Signal)))
		case <-ctx.Done():
		}
		exit(exitcode.ForSignal((<-signals).(syscall.Signal)))
	}()
	return ctx, cancel
}

// Output wraps f, stdout or stderr, so that a write failing because its reader went away (EPIPE: `| head`,
// a closed pipe to a CI runner) cancels the command as SIGPIPE would, with exit code 141, after the cleanup.
// cli-runtime's terminal detection looks for an *os.File and so sees no terminal behind the wrapper: terminal
// checks go through Unwrap (cmdkit.IsTerminal).
func Output(f *os.File, cancel context.CancelCauseFunc) io.Writer {
	return &output{File: f, cancel: cancel}
}

type output struct {
	*os.File
	cancel context.CancelCauseFunc
}

// Unwrap returns the file written to, so that a terminal check (which looks for an *os.File) sees the
// terminal behind the wrapper.
func (o *output) Unwrap() *os.File { return o.File }

// Write writes to the file; EPIPE cancels the command.
func (o *output) Write(b []byte) (int, error) {
	n, err := o.File.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		o.cancel(exitcode.Interrupted(syscall.SIGPIPE))
	}
	return n, err
}
