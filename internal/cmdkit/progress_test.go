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
	// No tick redraws meanwhile: the output is exactly what the calls below draw, and the clock is read
	// by this goroutine only.
	p.every = time.Hour
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

// With --color=always into a pipe, every line of the plugin's own is coloured, the status changes included,
// not only the first.
func TestProgressInCIColoursEveryLine(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, false, true, false)
	p.Printf("created job a")
	p.Status("waiting to be scheduled")
	p.Status("running")
	p.Warnf("run a failed")
	p.Printf("deleted job a")
	bold, red := "\x1b[1mtestrun:\x1b[22m ", "\x1b[31;1mtestrun:\x1b[0;22m "
	want := bold + "created job a\n" + bold + "waiting to be scheduled\n" + bold + "running\n" + red + "run a failed\n" + bold + "deleted job a\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("coloured CI output mismatch (-want +got):\n%s", diff)
	}
}

// A status line longer than the terminal is wide is cut to fit, in cells of the escaped text, keeping the
// elapsed time; a resized terminal is followed at the next redraw.
func TestProgressCutsTheStatusLineToTheTerminalWidth(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := NewProgress(&out, true, true, false)
	p.now = func() time.Time { return now }
	p.every = time.Hour
	cols := 30
	p.width = func() int { return cols }
	p.Start()
	p.Status("waiting to be scheduled: 0/1 nodes are available")
	cols = 80 // the terminal was widened
	p.Printf("created job a")
	p.Status("two\nlines\tand a tab")
	cols = 20
	p.Status("pu\x1b[31mlling\x1b[0m")
	p.Stop()
	bold := "\x1b[1mtestrun:\x1b[22m "
	want := "\r\x1b[K" + bold + "waiting to be… (0s)" + // 28 cells of 30: cut at 29, the space before the cut dropped
		"\r\x1b[K" + bold + "created job a\n" +
		"\r\x1b[K" + bold + "waiting to be scheduled: 0/1 nodes are available (0s)" + // redrawn at 80 columns
		"\r\x1b[K" + bold + "two lines and a tab (0s)" + // one line
		"\r\x1b[K" + bold + "pu^[… (0s)" + // 19 cells of 20, measured on the escaped text
		"\r\x1b[K"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("terminal output mismatch (-want +got):\n%s", diff)
	}
}

func TestFitStatus(t *testing.T) {
	tests := []struct {
		name   string
		status string
		cols   int
		want   string
	}{
		{name: "fits", status: "running", cols: 30, want: "testrun: running (42s)"},
		{name: "unknown width cuts nothing", status: strings.Repeat("x", 100), cols: 0, want: "testrun: " + strings.Repeat("x", 100) + " (42s)"},
		{name: "one cell is kept free", status: "runningx", cols: 23, want: "testrun: runnin… (42s)"},
		{name: "exactly one cell less than the width", status: "running", cols: 23, want: "testrun: running (42s)"},
		{name: "wide characters take two cells", status: "テストを実行しています", cols: 24, want: "testrun: テスト… (42s)"},
		{name: "a wide character is not split", status: "aテスト実行中", cols: 23, want: "testrun: aテス… (42s)"},
		{name: "combining marks take none", status: "cafe\u0301 ok", cols: 30, want: "testrun: cafe\u0301 ok (42s)"},
		{name: "too narrow for prefix and time", status: "running", cols: 12, want: "testrun: ru"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fitStatus("testrun: ", tt.status, " (42s)", tt.cols)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fitStatus(%q, %d) (-want +got):\n%s", tt.status, tt.cols, diff)
			}
			if tt.cols > 0 && cells(got) >= tt.cols {
				t.Errorf("fitStatus(%q, %d) = %q takes %d cells, want fewer than %d", tt.status, tt.cols, got, cells(got), tt.cols)
			}
		})
	}
}
