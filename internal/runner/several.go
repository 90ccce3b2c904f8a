package runner

import (
	"bytes"
	"context"
	"io"
	"slices"
	"sync"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// lineMux writes whole lines from several writers onto one stream, so that the output of parallel runs is
// never mixed within a line.
type lineMux struct {
	mu sync.Mutex
	w  io.Writer
}

// maxPartialLine bounds what a prefixWriter holds back waiting for the end of a line.
const maxPartialLine = 64 << 10

func (m *lineMux) prefixed(prefix string) *prefixWriter {
	return &prefixWriter{mux: m, prefix: []byte(prefix)}
}

func (m *lineMux) write(prefix, line []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(append(slices.Clip(prefix), line...))
}

// prefixWriter prefixes each line written to it and passes whole lines to its lineMux.
type prefixWriter struct {
	mux     *lineMux
	prefix  []byte
	mu      sync.Mutex
	partial []byte
}

// Write implements io.Writer.
func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		p.mux.write(p.prefix, p.partial[:i+1])
		p.partial = p.partial[i+1:]
	}
	if len(p.partial) > maxPartialLine {
		p.mux.write(p.prefix, append(p.partial, '\n'))
		p.partial = nil
	}
	return len(b), nil
}

// Flush writes a last line that has no newline.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.partial) > 0 {
		p.mux.write(p.prefix, append(p.partial, '\n'))
		p.partial = nil
	}
}

// Lines shares the two output streams among several runs: each run writes through writers of its own that
// prefix its lines with "[label] ", and lines of different runs never mix within a line.
type Lines struct{ stdout, stderr *lineMux }

// NewLines returns the shared streams out and errOut (which may be the same writer).
func NewLines(out, errOut io.Writer) *Lines {
	l := &Lines{stdout: &lineMux{w: out}, stderr: &lineMux{w: errOut}}
	if out == errOut {
		l.stdout = l.stderr
	}
	return l
}

// Prefixed returns the writers of the run named label, and flush, which writes a last line that has no
// newline: call it when the run ended.
func (l *Lines) Prefixed(label string) (out, errOut io.Writer, flush func()) {
	prefix := "[" + label + "] "
	o, e := l.stdout.prefixed(prefix), l.stderr.prefixed(prefix)
	return o, e, func() { o.Flush(); e.Flush() }
}

// Ended is how one of several runs ended.
type Ended struct {
	// Index is the run's place among the specs given to RunParallel.
	Index  int
	Result *outcome.Result
	Err    error
	// Code is the exit code the run ends with: its result's, or the one its error maps to.
	Code int
}

// RunParallel starts every spec at once and follows them all. Each run's lines, on out and errOut, are
// prefixed with "[label] " and never mixed within a line; newRunner returns run i's Runner and Reporter,
// given the prefixed writers its logs and its messages go to. The runs are returned in the order they ended.
func RunParallel(ctx context.Context, specs []runspec.Spec, labels []string, out, errOut io.Writer, newRunner func(i int, logs, messages io.Writer) (*Runner, reporter.Reporter)) []Ended {
	stdout, stderr := &lineMux{w: out}, &lineMux{w: errOut}
	if out == errOut {
		stdout = stderr
	}
	done := make(chan Ended, len(specs))
	var wg sync.WaitGroup
	for i, spec := range specs {
		prefix := "[" + labels[i] + "] "
		errW, outW := stderr.prefixed(prefix), stdout.prefixed(prefix)
		runner, rep := newRunner(i, outW, errW)
		wg.Go(func() {
			result, err := runner.Run(ctx, spec)
			outW.Flush()
			if err != nil {
				rep.Warnf("%v", err)
			}
			errW.Flush()
			code := exitcode.OK
			switch {
			case err != nil:
				code = exitcode.Code(ctx, err)
			case result.ExitCode != exitcode.OK:
				code = result.ExitCode
			}
			done <- Ended{Index: i, Result: result, Err: err, Code: code}
		})
	}
	wg.Wait()
	close(done)
	ended := make([]Ended, 0, len(specs))
	for e := range done {
		ended = append(ended, e)
	}
	return ended
}
