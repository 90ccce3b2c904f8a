package exitcode

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
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
