package junit

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	// maxListed is how many failed cases Line names before it only counts.
	maxListed = 20
	// maxMessageRunes caps the message shown after a failed case's name.
	maxMessageRunes = 200
)

// ansiEscape matches the terminal escape sequences test runners leave in
// their output: control sequences such as a colour change ("\x1b[31m") and
// operating system commands such as a window title ("\x1b]0;title\x07").
var ansiEscape = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)`)

// Line returns the summary a person reads, such as
//
//	junit: 42 tests, 2 failed, 1 error, 3 skipped in 12.3s (2 files)
//
// followed, one per line and indented by two spaces, by the failed and
// errored cases:
//
//	FAIL suite/name: first line of the message
//	ERROR suite/name: first line of the message
//
// at most 20 of them (see Lines), then "  … and N more". Errors and skipped tests are
// left out of the first line when there are none. The text has no trailing
// newline. Names and messages come from the reports, which a test in the pod
// wrote: control characters and ANSI escape sequences are removed from them,
// so the text is safe to print on a terminal.
func (s Summary) Line() string {
	return s.Lines(maxListed)
}

// Lines is Line naming at most listed failed cases, for where space is short (a failure's summary on
// stderr).
func (s Summary) Lines(listed int) string {
	var b strings.Builder
	if len(s.Files) == 0 {
		return "junit: no reports"
	}
	fmt.Fprintf(&b, "junit: %s, %d failed", plural(s.Tests, "test", "tests"), s.Failures)
	if s.Errors > 0 {
		fmt.Fprintf(&b, ", %s", plural(s.Errors, "error", "errors"))
	}
	if s.Skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", s.Skipped)
	}
	fmt.Fprintf(&b, " in %s (%s)", formatSeconds(s.Time), plural(len(s.Files), "file", "files"))
	for i, c := range s.Failed {
		if i == listed {
			fmt.Fprintf(&b, "\n  … and %d more", len(s.Failed)-listed)
			break
		}
		verb := "FAIL"
		if c.Error {
			verb = "ERROR"
		}
		name := printable(c.Name)
		if suite := printable(c.Suite); suite != "" {
			name = suite + "/" + name
		}
		fmt.Fprintf(&b, "\n  %s %s", verb, name)
		if msg := truncate(printable(firstLine(c.Message)), maxMessageRunes); msg != "" {
			fmt.Fprintf(&b, ": %s", msg)
		}
	}
	return b.String()
}

// plural returns n followed by the singular or plural noun.
func plural(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return fmt.Sprintf("%d %s", n, plural)
}

// formatSeconds shows a duration to a tenth of a second under a minute, and to
// the second above ("2m5s"), where tenths no longer matter.
func formatSeconds(sec float64) string {
	switch {
	case sec < 59.95:
		return fmt.Sprintf("%.1fs", sec)
	case sec >= float64(math.MaxInt64/time.Second):
		// Beyond what a Duration holds: a report with a nonsensical time.
		return fmt.Sprintf("%gs", sec)
	}
	return time.Duration(sec * float64(time.Second)).Round(time.Second).String()
}

// printable returns s as valid UTF-8 without ANSI escape sequences or control
// characters (a tab becomes a space), trimmed of surrounding white space.
func printable(s string) string {
	s = ansiEscape.ReplaceAllString(strings.ToValidUTF8(s, "\uFFFD"), "")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// truncate shortens s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return strings.TrimSpace(string(runes[:n-1])) + "…"
}
