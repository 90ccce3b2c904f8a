package cmdkit

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestProgressInCIPrintsOneLinePerChange(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, false, false, false)
	p.Start()
	p.Status("waiting to be scheduled")
	p.Status("waiting to be scheduled")
	p.Status("running")
	p.Printf("created job %s", "a")
	p.Warnf("pod said \x1b[31mred\x1b[0m")
	p.Stop()
	want := "testrun: waiting to be scheduled\ntestrun: running\ntestrun: created job a\ntestrun: pod said ^[[31mred^[[0m\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("CI output mismatch (-want +got):\n%s", diff)
	}
}

func TestProgressQuietPrintsOnlyWarnings(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, true, false, true)
	p.Start()
	p.Status("running")
	p.Printf("created job a")
	p.Warnf("the test failed")
	p.Stop()
	if diff := cmp.Diff("testrun: the test failed\n", out.String()); diff != "" {
		t.Errorf("quiet output mismatch (-want +got):\n%s", diff)
	}
}

// On a terminal the status line is redrawn in place with its elapsed time, and cleared before any other text.
func TestProgressOnATerminalRedrawsOneStatusLine(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := NewProgress(&out, true, false, false)
	p.now = func() time.Time { return now }
	p.Start()
	p.Status("running")
	now = now.Add(42 * time.Second)
	logs := p.LogWriter(&out, true)
	if _, err := logs.Write([]byte("test line\r\n")); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	want := "\r\x1b[Ktestrun: running (0s)" + // drawn
		"\r\x1b[K" + "test line\\r\n" + // cleared, the pod's line escaped
		"\r\x1b[Ktestrun: running (42s)" + // redrawn with the elapsed time
		"\r\x1b[K" // cleared at the end
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("terminal output mismatch (-want +got):\n%s", diff)
	}
}

// Outside a terminal the test's output passes through untouched, as kubectl logs passes it.
func TestProgressLogWriterPassesBytesToAPipe(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&bytes.Buffer{}, false, false, false)
	w := p.LogWriter(&out, false)
	in := "colour \x1b[1mbold\x1b[0m\r\n"
	if _, err := w.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	if out.String() != in {
		t.Errorf("piped output = %q, want %q", out.String(), in)
	}
	if strings.Contains(in, "^[") {
		t.Fatal("test input must hold raw escapes")
	}
}
