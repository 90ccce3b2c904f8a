package junit

import (
	"fmt"
	"io"
	"strings"
)

// synthesizedSuite names the suite, and the class of the case, that
// Synthesize writes, so a dashboard shows where the failure came from.
const synthesizedSuite = "kubectl-testrun"

// Synthesize writes to w a JUnit XML report that records the run as one
// failed test: a suite "kubectl-testrun" holding one test case called name
// (or "kubectl-testrun" if name is blank), whose <failure> has reason as its
// message and detail, for example the tail of the log, as its text. The run
// uses it when the test produced no report (it crashed, its image could not
// be pulled, it timed out or was cancelled), so the failure still shows on CI
// dashboards.
//
// The document is valid XML 1.0 whatever the strings hold: invalid UTF-8
// becomes U+FFFD, ANSI escape sequences and the characters XML forbids (such
// as NUL and ESC) are dropped, and everything else is escaped, so "]]>" and
// "<&>" come back as written. Line breaks in reason are kept as character
// references, which parsers do not fold into spaces.
func Synthesize(w io.Writer, name, reason, detail string) error {
	name = strings.TrimSpace(xmlChars(name))
	if name == "" {
		name = synthesizedSuite
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<testsuites tests="1" failures="1" errors="0" skipped="0" time="0">` + "\n")
	b.WriteString(`  <testsuite name="` + synthesizedSuite + `" tests="1" failures="1" errors="0" skipped="0" time="0">` + "\n")
	b.WriteString(`    <testcase classname="` + synthesizedSuite + `" name="`)
	escape(&b, name, true)
	b.WriteString(`" time="0">` + "\n")
	b.WriteString(`      <failure message="`)
	escape(&b, xmlChars(reason), true)
	b.WriteString(`">`)
	escape(&b, xmlChars(detail), false)
	b.WriteString("</failure>\n")
	b.WriteString("    </testcase>\n  </testsuite>\n</testsuites>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the junit report for %q: %w", name, err)
	}
	return nil
}

// xmlChars returns s as valid UTF-8 without ANSI escape sequences and without
// the characters XML 1.0 does not allow in a document.
func xmlChars(s string) string {
	s = ansiEscape.ReplaceAllString(strings.ToValidUTF8(s, "\uFFFD"), "")
	return strings.Map(func(r rune) rune {
		if isXMLChar(r) {
			return r
		}
		return -1
	}, s)
}

// isXMLChar reports whether r is in the Char production of XML 1.0.
func isXMLChar(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r':
		return true
	case r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// escape writes s, made of XML characters only, as the text of an element or,
// with attr, the value of a double-quoted attribute. Carriage returns are
// always written as references, or a parser would turn "\r\n" into "\n"; in
// an attribute, line breaks and tabs are too, or it would turn them into
// spaces.
func escape(b *strings.Builder, s string, attr bool) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#xD;")
		case attr && r == '"':
			b.WriteString("&quot;")
		case attr && r == '\n':
			b.WriteString("&#xA;")
		case attr && r == '\t':
			b.WriteString("&#x9;")
		default:
			b.WriteRune(r)
		}
	}
}
