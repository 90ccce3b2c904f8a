// Package reporter defines how the engine tells a person what a run is doing, without deciding how it looks.
package reporter

import (
	"fmt"
	"io"
	"sync"
)

// Reporter is how the engine tells a person what a run is doing. The engine never decides how that looks
// (colour, a status line redrawn in place, quiet mode): the command line's implementation does.
type Reporter interface {
	// Start and Stop bracket a run that is followed live (a status line may move meanwhile).
	Start()
	Stop()
	// Status says what the run is doing now; an implementation prints it when it changes.
	Status(s string)
	// Printf is a line of progress; Warnf a line that matters even when progress is not wanted.
	Printf(format string, args ...any)
	Warnf(format string, args ...any)
	// Report is a block of results, such as the JUnit summary.
	Report(text string)
	// BlockWriter takes text that came from the cluster (describe output, events, logs).
	BlockWriter() io.Writer
}

// Discard is a Reporter that says nothing.
type Discard struct{}

// Start implements Reporter.
func (Discard) Start() {}

// Stop implements Reporter.
func (Discard) Stop() {}

// Status implements Reporter.
func (Discard) Status(string) {}

// Printf implements Reporter.
func (Discard) Printf(string, ...any) {}

// Warnf implements Reporter.
func (Discard) Warnf(string, ...any) {}

// Report implements Reporter.
func (Discard) Report(string) {}

// BlockWriter implements Reporter.
func (Discard) BlockWriter() io.Writer { return io.Discard }

// Lines is a Reporter that writes every message as one plain line ("testrun: ...") and blocks as they are:
// what a log file or a test wants. Pod text is not escaped: use it where no terminal reads.
type Lines struct {
	mu sync.Mutex
	W  io.Writer
}

// Start implements Reporter.
func (*Lines) Start() {}

// Stop implements Reporter.
func (*Lines) Stop() {}

// Status implements Reporter.
func (l *Lines) Status(s string) { l.Printf("%s", s) }

// Printf implements Reporter.
func (l *Lines) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.W, "testrun: %s\n", fmt.Sprintf(format, args...))
}

// Warnf implements Reporter.
func (l *Lines) Warnf(format string, args ...any) { l.Printf(format, args...) }

// Report implements Reporter.
func (l *Lines) Report(text string) { _, _ = l.BlockWriter().Write([]byte(text)) }

// BlockWriter implements Reporter.
func (l *Lines) BlockWriter() io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.W.Write(b)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
