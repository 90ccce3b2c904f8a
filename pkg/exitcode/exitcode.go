// Package exitcode maps the outcome of a command to the process exit code, following the docker run
// convention documented in docs/exit-codes.md: the test's own code when it ran, 124 for a timeout, 125 when the
// test could not be run, 126 when its container could not start, 127 when its command was not found, and
// 128+signal when the plugin was interrupted.
package exitcode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/printers"
)

// The exit codes the plugin itself chooses; any other code is the test container's own.
const (
	OK            = 0
	Timeout       = 124
	CannotRun     = 125
	CannotStart   = 126
	NotFound      = 127
	signalPrefix  = 128
	genericFailed = 1
)

// Error carries the exit code a failure should end the process with.
type Error struct {
	// Code is the process exit code.
	Code int
	// Err says what happened; nil means the code speaks for itself (a test that failed has already said why).
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error that ends the process with code. A nil err means nothing more needs saying.
func New(code int, err error) *Error { return &Error{Code: code, Err: err} }

// Errorf returns an error with a message that ends the process with code.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// InterruptError is the cancellation cause set when the process receives a signal.
type InterruptError struct {
	// Signal is the signal received.
	Signal syscall.Signal
}

// Error implements error.
func (e *InterruptError) Error() string {
	switch e.Signal {
	case syscall.SIGINT:
		return "interrupted (SIGINT)"
	case syscall.SIGTERM:
		return "terminated (SIGTERM)"
	case syscall.SIGHUP:
		return "the terminal hung up (SIGHUP)"
	case syscall.SIGPIPE:
		return "the output was closed (EPIPE)"
	}
	return fmt.Sprintf("interrupted by %s", e.Signal)
}

// Interrupted returns the cancellation cause for sig.
func Interrupted(sig syscall.Signal) error { return &InterruptError{Signal: sig} }

// ForSignal returns the conventional exit code for a process ended by sig: 129 for SIGHUP, 130 for SIGINT,
// 141 for SIGPIPE (a closed output), 143 for SIGTERM.
func ForSignal(sig syscall.Signal) int { return signalPrefix + int(sig) }

// Code returns the exit code for err, given the command's context: an interrupt wins over the error it caused.
func Code(ctx context.Context, err error) int {
	var interrupt *InterruptError
	if errors.As(context.Cause(ctx), &interrupt) {
		return ForSignal(interrupt.Signal)
	}
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if apiError(err) {
		return CannotRun
	}
	return genericFailed
}

// causedByInterrupt tells an error that only says the command was interrupted.
func causedByInterrupt(ctx context.Context, err error) bool {
	var interrupt *InterruptError
	if errors.As(err, &interrupt) {
		return true
	}
	return errors.As(context.Cause(ctx), &interrupt) && (errors.Is(err, context.Canceled) || errors.Is(err, context.Cause(ctx)))
}

// apiError tells an error of the API server (a refusal, a missing object, a missing permission) or of the
// way to it (a connection refused, a name that does not resolve, a timeout) from a bug: every command exits
// 125 for the former, as docs/exit-codes.md says, whichever verb met it.
func apiError(err error) bool {
	var status apierrors.APIStatus
	var urlErr *url.Error
	var netErr net.Error
	return errors.As(err, &status) || errors.As(err, &urlErr) || errors.As(err, &netErr)
}

// Report writes err to w the way kubectl does ("error: ..."), unless it carries no message, and returns the
// exit code for it. Errors echo what the user typed and what the cluster said, so they are escaped like pod
// text: a raw terminal escape in an argument never reaches the terminal.
//
// An error that is the interrupt itself (Ctrl-C on logs -f), or the cancellation it caused, is not printed:
// the user knows what they did, and the exit code (130 for SIGINT) says it to a script.
func Report(ctx context.Context, err error, w io.Writer) int {
	code := Code(ctx, err)
	var e *Error
	if err != nil && !causedByInterrupt(ctx, err) && (!errors.As(err, &e) || e.Err != nil) {
		fmt.Fprintf(w, "error: %s\n", printers.EscapeTerminal(err.Error()))
	}
	return code
}
