package cmdkit

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/creack/pty"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/interrupt"
)

// The plugin's stdout and stderr are wrapped (to see EPIPE): a terminal behind the wrapper is still a
// terminal, with its width, and a file behind it is not.
func TestIsTerminalSeesThroughTheOutputWrapper(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 42}); err != nil {
		t.Fatal(err)
	}
	plain, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	t.Setenv("NO_COLOR", "")
	os.Unsetenv("NO_COLOR")
	t.Setenv("TERM", "xterm")
	tests := []struct {
		name      string
		w         any
		wantTTY   bool
		wantWidth int
	}{
		{"a terminal", tty, true, 42},
		{"a wrapped terminal", interrupt.Output(tty, cancel), true, 42},
		{"a wrapped file", interrupt.Output(plain, cancel), false, 0},
		{"no file", &struct{}{}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTerminal(tt.w); got != tt.wantTTY {
				t.Errorf("IsTerminal = %v, want %v", got, tt.wantTTY)
			}
			if got := AllowsColorOutput(tt.w); got != tt.wantTTY {
				t.Errorf("AllowsColorOutput = %v, want %v", got, tt.wantTTY)
			}
			if got := terminalWidth(tt.w)(); got != tt.wantWidth {
				t.Errorf("terminal width = %d, want %d", got, tt.wantWidth)
			}
		})
	}
}
