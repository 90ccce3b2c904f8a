package exitcode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// An error that echoes what the user typed is printed without its raw terminal escapes.
func TestReportEscapesTerminalControls(t *testing.T) {
	var w bytes.Buffer
	code := Report(t.Context(), New(CannotRun, errors.New("--output \"\x1b]0;pwned\x07\x1b[2J\r\" is not supported")), &w)
	if code != CannotRun {
		t.Errorf("code = %d, want %d", code, CannotRun)
	}
	want := "error: --output \"^[]0;pwned\x07^[[2J\\r\" is not supported\n"
	if diff := cmp.Diff(want, w.String()); diff != "" {
		t.Errorf("Report wrote (-want +got):\n%s", diff)
	}
}

// The same failure exits the same way in every verb: an error of the API server or of the way to it is 125
// (the test could not be run, or the run not be read), wrapped or not; an interrupt wins; anything else is 1.
func TestCodeMapsAPIErrorsTo125InEveryVerb(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "jobs"}, "x", errors.New("no"))
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"forbidden", forbidden, 125},
		{"not found, wrapped", fmt.Errorf("listing runs: %w", apierrors.NewNotFound(schema.GroupResource{Resource: "jobs"}, "x")), 125},
		{"connection refused", fmt.Errorf("listing runs: %w", refused), 125},
		{"an explicit code", New(3, nil), 3},
		{"anything else", errors.New("a bug"), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Code(t.Context(), tc.err); got != tc.want {
				t.Errorf("Code(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(Interrupted(syscall.SIGTERM))
	if got := Code(ctx, forbidden); got != 143 {
		t.Errorf("an interrupt must win over the error it caused: got %d, want 143", got)
	}
}

// Ctrl-C on a command that streams until it is stopped (logs -f) exits 130 without an error line: the
// interrupt itself, or the cancellation it caused, needs no "error: ...". Another error still prints.
func TestReportSaysNothingOfTheInterruptItself(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(Interrupted(syscall.SIGINT))
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		code int
		want string
	}{
		{"the interrupt", ctx, context.Cause(ctx), 130, ""},
		{"the interrupt, wrapped", ctx, fmt.Errorf("following logs: %w", context.Cause(ctx)), 130, ""},
		{"the cancellation it caused", ctx, fmt.Errorf("watching: %w", context.Canceled), 130, ""},
		{"another error after it", ctx, errors.New("a bug"), 130, "error: a bug\n"},
		{"a cancellation without an interrupt", t.Context(), context.Canceled, 1, "error: context canceled\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w bytes.Buffer
			if code := Report(tt.ctx, tt.err, &w); code != tt.code || w.String() != tt.want {
				t.Errorf("Report(%v) = %d, wrote %q; want %d, %q", tt.err, code, w.String(), tt.code, tt.want)
			}
		})
	}
}
