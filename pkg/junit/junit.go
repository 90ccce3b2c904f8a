// Package junit summarises the JUnit XML reports a test run left in its report
// directory, and writes a failing report when the test left none.
//
// JUnit XML has no single specification: go-junit-report, gotestsum, pytest,
// Jest, Ginkgo and Maven Surefire each write their own dialect. Parsing is left
// to github.com/joshdk/go-junit, which reads all of them; this package finds
// the reports, totals them for a person ([Summary.Line]) or a script (the JSON
// form of [Summary]), and [Synthesize]s a report so that a run that crashed,
// could not pull its image, timed out or was cancelled still shows up as a
// failure on a CI dashboard.
//
// Totals count <testcase> elements, not the tests="…" attributes a tool
// writes on its suites: the attributes disagree between tools (Ginkgo counts
// pending specs as disabled, gotestsum adds a TestMain case for a package that
// did not build) and are missing from truncated files.
package junit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	gojunit "github.com/joshdk/go-junit"
)

// Summary totals one or more JUnit reports.
type Summary struct {
	// Files are the report files parsed, relative to the report directory,
	// slash-separated and sorted.
	Files []string `json:"files"`
	// Tests counts every <testcase>, whatever its outcome.
	Tests int `json:"tests"`
	// Failures counts test cases with a <failure>: an assertion did not hold.
	Failures int `json:"failures"`
	// Errors counts test cases with an <error>: the test itself broke, for
	// example an exception in a fixture.
	Errors int `json:"errors"`
	// Skipped counts test cases with a <skipped>, including Ginkgo's pending
	// specs.
	Skipped int `json:"skipped"`
	// Time is the sum over the top-level suites of each suite's own time
	// attribute or, when it has none, of its cases' durations; in seconds,
	// rounded to the millisecond.
	Time float64 `json:"timeSeconds"`
	// Failed lists the failed and errored cases, in file order and, within a
	// file, in document order.
	Failed []Case `json:"failed,omitempty"`
}

// Case is a test case that failed or errored.
type Case struct {
	// Suite is the case's class name when the report gives one that differs
	// from the case name (pytest's module.Class, Java's class, Go's package),
	// else the name of the <testsuite> that holds it (Jest repeats the class
	// name in the case name).
	Suite string `json:"suite"`
	// Name is the test case's name.
	Name string `json:"name"`
	// Message is the message attribute of the <failure> or <error> or, when
	// that is blank or a bare word ("Failed", as gotestsum writes), the first
	// non-blank line of its body. It is the text
	// of the report: it may hold several lines and terminal escapes.
	Message string `json:"message,omitempty"`
	// Error is true for an <error> and false for a <failure>.
	Error bool `json:"error,omitempty"`
}

const (
	// sniffBytes is how far into a file Find looks for its root element.
	sniffBytes = 1024
	// maxReportBytes caps the size of one report. go-junit keeps the raw
	// text of every element as well as its children, so parsing takes several
	// times the file's size in memory; a bigger file is refused rather than
	// risking the plugin running out of memory after the test already ran.
	maxReportBytes = 256 << 20
)

// Find returns the JUnit reports under dir: regular files whose name ends in
// ".xml" (in any case) and whose root element, which must start within the
// first KiB, is <testsuites> or <testsuite>. Other XML files (Cobertura
// coverage, Failsafe's summary) and files that are not XML at all are
// skipped. Paths are relative to dir, slash-separated and sorted. Symbolic
// links are not followed.
func Find(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || !strings.EqualFold(filepath.Ext(d.Name()), ".xml") {
			return nil
		}
		ok, err := sniff(path)
		if err != nil {
			return err
		}
		if ok {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("looking for junit reports in %q: %w", dir, err)
	}
	slices.Sort(files)
	return files, nil
}

// sniff reports whether the file at path looks like a JUnit report, from the
// name of its root element.
func sniff(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }() // opened read-only: closing cannot lose data
	head := make([]byte, sniffBytes)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	name := rootElement(head[:n])
	return name == "testsuites" || name == "testsuite", nil
}

// rootElement returns the local name of the first element that starts in head,
// or "" when there is none or head is not XML.
func rootElement(head []byte) string {
	d := xml.NewDecoder(bytes.NewReader(head))
	// Only the element name matters, and it is ASCII in every encoding a
	// JUnit writer uses, so a declared encoding is read as is.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		offset := d.InputOffset()
		tok, err := d.RawToken()
		if err != nil {
			// A root start tag cut by the end of head still names the element.
			return startTagName(head[offset:])
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			return tok.Name.Local
		case xml.CharData:
			// A byte order mark is character data to the decoder; anything
			// else before the root element means this is not XML.
			if len(bytes.Trim(tok, " \t\r\n\uFEFF")) > 0 {
				return ""
			}
		case xml.EndElement:
			return ""
		}
	}
}

// startTagName returns the local name of the start tag that b begins with,
// after white space, or "" when b does not begin with one.
func startTagName(b []byte) string {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) < 2 || b[0] != '<' {
		return ""
	}
	end := bytes.IndexAny(b[1:], " \t\r\n/>")
	if end < 0 {
		// The name itself runs past the end of what was read.
		return ""
	}
	name := string(b[1 : 1+end])
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// Summarize parses files, given relative to dir as [Find] returns them, and
// totals them. A file listed twice is read once. A file that cannot be read or
// does not parse is an error that names it; a file without any <testsuite>
// adds nothing but is still listed. Files are opened through an [os.Root], so
// no name can reach outside dir.
func Summarize(dir string, files []string) (Summary, error) {
	// Sorted and without duplicates, so that the same reports give the same
	// summary whatever order they were listed in.
	s := Summary{Files: slices.Compact(slices.Sorted(slices.Values(files)))}
	if s.Files == nil {
		s.Files = []string{} // "files": [] in JSON, not null
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Summary{}, fmt.Errorf("opening report directory %q: %w", dir, err)
	}
	defer func() { _ = root.Close() }()
	var seconds float64
	for _, name := range s.Files {
		data, err := readReport(root, name, maxReportBytes)
		if err != nil {
			return Summary{}, err
		}
		suites, err := gojunit.Ingest(data)
		if err != nil {
			return Summary{}, fmt.Errorf("parsing junit report %q: %w", name, err)
		}
		times, err := suiteTimes(data)
		if err != nil {
			return Summary{}, fmt.Errorf("parsing junit report %q: %w", name, err)
		}
		if len(times) != len(suites) {
			// Both walks find the same top-level suites in the same order;
			// if they ever disagree, fall back to the cases' durations.
			times = make([]float64, len(suites))
			for i := range times {
				times[i] = math.NaN()
			}
		}
		// Ingest returns the outermost <testsuite> elements only, and each
		// one's Totals already include its nested suites: summing nested
		// suites again would count their cases twice.
		for i, suite := range suites {
			s.Tests += suite.Totals.Tests
			s.Failures += suite.Totals.Failed
			s.Errors += suite.Totals.Error
			s.Skipped += suite.Totals.Skipped
			if math.IsNaN(times[i]) {
				seconds += caseSeconds(suite)
			} else {
				seconds += times[i]
			}
			s.Failed = appendFailed(s.Failed, suite)
		}
	}
	s.Time = math.Round(seconds*1000) / 1000
	return s, nil
}

// caseSeconds adds up the durations of the cases in suite and in the suites
// nested in it. go-junit can turn a time it cannot represent ("NaN",
// "1e300") into a negative duration, which is left out rather than
// subtracted.
func caseSeconds(suite gojunit.Suite) float64 {
	var sum float64
	for _, t := range suite.Tests {
		if t.Duration > 0 {
			sum += t.Duration.Seconds()
		}
	}
	for _, nested := range suite.Suites {
		sum += caseSeconds(nested)
	}
	return sum
}

// readReport reads the report name from root, refusing one of more than limit
// bytes.
func readReport(root *os.Root, name string, limit int64) ([]byte, error) {
	f, err := root.Open(filepath.FromSlash(name))
	if err != nil {
		return nil, fmt.Errorf("reading junit report %q: %w", name, err)
	}
	defer func() { _ = f.Close() }() // opened read-only: closing cannot lose data
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading junit report %q: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("junit report %q is larger than %d bytes: split the report or leave the test output out of it", name, limit)
	}
	return data, nil
}

// appendFailed appends the failed and errored cases of suite and of the suites
// nested in it, in document order as far as go-junit keeps it (a suite's own
// cases before its nested suites).
func appendFailed(failed []Case, suite gojunit.Suite) []Case {
	for _, t := range suite.Tests {
		if t.Status != gojunit.StatusFailed && t.Status != gojunit.StatusError {
			continue
		}
		c := Case{Suite: suite.Name, Name: t.Name, Message: t.Message, Error: t.Status == gojunit.StatusError}
		if t.Classname != "" && t.Classname != t.Name {
			c.Suite = t.Classname
		}
		if generic(c.Message) {
			var e gojunit.Error
			if errors.As(t.Error, &e) && reasonLine(e.Body) != "" {
				c.Message = reasonLine(e.Body)
			} else if strings.TrimSpace(c.Message) == "" {
				c.Message = ""
			}
		}
		failed = append(failed, c)
	}
	for _, nested := range suite.Suites {
		failed = appendFailed(failed, nested)
	}
	return failed
}

// generic says whether a failure message says nothing the status does not: blank, or a bare word such as
// the "Failed" gotestsum writes for every failed Go test, whose reason is in the body.
func generic(message string) bool {
	switch strings.ToLower(strings.TrimSpace(message)) {
	case "", "failed", "failure", "fail", "error", "errored":
		return true
	}
	return false
}

// suiteTimes returns the time attribute, in seconds, of each outermost
// <testsuite> of data in document order (the order go-junit returns them in),
// or NaN for a suite without a usable one. go-junit cannot give it: it replaces
// a suite's attributes with its <properties> when it has both.
func suiteTimes(data []byte) ([]float64, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var times []float64
	depth := 0 // of <testsuite> elements
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return times, nil
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local != "testsuite" {
				continue
			}
			if depth == 0 {
				t := math.NaN()
				for _, a := range tok.Attr {
					if a.Name.Local == "time" {
						t = seconds(a.Value)
					}
				}
				times = append(times, t)
			}
			depth++
		case xml.EndElement:
			if tok.Name.Local == "testsuite" {
				depth--
			}
		}
	}
}

// seconds parses a JUnit time attribute the way go-junit parses a case's:
// seconds with optional thousands separators ("1,234.5"), or a Go duration
// ("1m2s"). It returns NaN for anything else, including negative times.
func seconds(v string) float64 {
	v = strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", ""), 64); err == nil {
		if f < 0 || math.IsInf(f, 0) {
			return math.NaN()
		}
		return f
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d.Seconds()
	}
	return math.NaN()
}

// firstLine returns the first non-blank line of s, without surrounding white
// space.
// reasonLine returns the first non-blank line of a failure's body that is not go test's framing ("=== RUN
// TestX", "=== PAUSE", "=== CONT", "=== NAME"), which gotestsum copies into the body before the reason.
func reasonLine(body string) string {
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "=== ") {
			return line
		}
	}
	return firstLine(body)
}

func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}
