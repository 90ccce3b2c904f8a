package cmdkit

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/fatih/color"
	"k8s.io/cli-runtime/pkg/printers"
)

// Progress tells a person what a run is doing, on the plugin's own stream (stderr). On a terminal a single
// status line is redrawn in place ("running for 42s"); elsewhere (CI) only changes of state are printed, one
// line each. Quiet prints nothing but failures. Text that came from the cluster is escaped.
type Progress struct {
	w     io.Writer
	tty   bool
	quiet bool
	now   func() time.Time
	// every is how often the status line is redrawn, so that its elapsed time moves.
	every time.Duration
	// width returns the terminal's width in cells (0 when unknown). It is read at every redraw, so a resized
	// terminal is followed without handling SIGWINCH: a redraw happens at least every second.
	width func() int

	mu      sync.Mutex
	status  string
	since   time.Time
	drawn   bool
	warn    *color.Color
	bold    *color.Color
	stopped chan struct{}
}

// NewProgress returns a Progress writing to w. tty says whether w is a terminal (status line redrawn in
// place); useColor whether it may be coloured.
func NewProgress(w io.Writer, tty, useColor, quiet bool) *Progress {
	p := &Progress{w: w, tty: tty, quiet: quiet, now: time.Now, every: time.Second, width: terminalWidth(w),
		warn: color.New(color.FgRed, color.Bold), bold: color.New(color.Bold)}
	// Colour is decided here, per printer, never through color.NoColor.
	for _, c := range []*color.Color{p.warn, p.bold} {
		if useColor {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

// Start redraws the status line every second on a terminal, so the elapsed time moves; stop with Stop.
func (p *Progress) Start() {
	if !p.tty || p.quiet {
		return
	}
	// The goroutine keeps its own copy of the channel: Stop sets the field to nil under mu.
	stopped := make(chan struct{})
	p.mu.Lock()
	p.stopped = stopped
	p.mu.Unlock()
	go func() {
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-stopped:
				return
			case <-t.C:
				p.mu.Lock()
				p.draw()
				p.mu.Unlock()
			}
		}
	}()
}

// Stop ends the redrawing and clears the status line.
func (p *Progress) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped != nil {
		close(p.stopped)
		p.stopped = nil
	}
	p.clear()
}

// Status sets what the run is doing now; it is printed when it changes.
func (p *Progress) Status(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s == p.status || s == "" {
		return
	}
	p.status, p.since = s, p.now()
	if p.quiet {
		return
	}
	if p.tty {
		p.draw()
		return
	}
	fmt.Fprintf(p.w, "%s %s\n", p.bold.Sprint("testrun:"), printers.EscapeTerminal(s))
}

// Printf prints one line of progress (not in quiet mode).
func (p *Progress) Printf(format string, args ...any) {
	if p.quiet {
		return
	}
	p.line(p.bold, format, args...)
}

// Warnf prints one line that matters even in quiet mode: a failure, a cleanup problem.
func (p *Progress) Warnf(format string, args ...any) {
	p.line(p.warn, format, args...)
}

func (p *Progress) line(c *color.Color, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintf(p.w, "%s %s\n", c.Sprint("testrun:"), printers.EscapeTerminal(fmt.Sprintf(format, args...)))
	p.draw()
}

// Report prints a block of results, such as the JUnit summary (not in quiet mode), escaped.
func (p *Progress) Report(text string) {
	if p.quiet {
		return
	}
	p.Block(strings.TrimSuffix(text, "\n") + "\n")
}

// Block writes a block of text that came from the cluster (describe output, events, logs), escaped.
func (p *Progress) Block(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	_ = printers.WriteEscaped(p.w, text)
	p.draw()
}

// BlockWriter returns a writer whose writes go through Block: escaped, with the status line out of the way.
func (p *Progress) BlockWriter() io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		p.Block(string(b))
		return len(b), nil
	})
}

// Around runs write, which writes to another stream of the same terminal, with the status line out of its way.
func (p *Progress) Around(write func() error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	err := write()
	p.draw()
	return err
}

// draw shows the status line with its elapsed time, on a terminal only, cut to the terminal's width: a
// line that wrapped could not be cleared in place, and each redraw would leave a fragment behind. Callers
// hold mu.
func (p *Progress) draw() {
	if !p.tty || p.quiet || p.status == "" || p.stopped == nil {
		return
	}
	const prefix = "testrun: "
	line := fitStatus(prefix, oneLine(printers.EscapeTerminal(p.status)), fmt.Sprintf(" (%s)", p.now().Sub(p.since).Round(time.Second)), p.width())
	// The prefix is coloured after the cut: escape sequences take no cells.
	if rest, ok := strings.CutPrefix(line, prefix); ok {
		line = p.bold.Sprint(strings.TrimSuffix(prefix, " ")) + " " + rest
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.drawn = true
}

// clear removes the status line. Callers hold mu.
func (p *Progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// LogWriter returns the writer test output goes through: on a terminal the status line is moved out of its
// way and pod text is escaped; elsewhere the bytes pass untouched, as kubectl logs passes them.
func (p *Progress) LogWriter(out io.Writer, outIsTTY bool) io.Writer {
	if !outIsTTY {
		return out
	}
	return writerFunc(func(b []byte) (int, error) {
		err := p.Around(func() error { return printers.WriteEscaped(out, string(b)) })
		return len(b), err
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
