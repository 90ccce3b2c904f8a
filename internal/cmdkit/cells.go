package cmdkit

import (
	"os"
	"strings"
	"unicode"

	"golang.org/x/term"
	"golang.org/x/text/width"
	"k8s.io/cli-runtime/pkg/printers"
)

// ellipsis marks a status cut to the terminal's width.
const ellipsis = "…"

// file returns the file w writes to: w itself, or the file behind a wrapper with an Unwrap() *os.File
// method (the plugin's own stdout and stderr, which watch for EPIPE); nil when there is none.
func file(w any) *os.File {
	switch f := w.(type) {
	case *os.File:
		return f
	case interface{ Unwrap() *os.File }:
		return f.Unwrap()
	}
	return nil
}

// IsTerminal reports whether w writes to a terminal, also through a wrapper (file): cli-runtime's
// printers.IsTerminal sees only an *os.File itself.
func IsTerminal(w any) bool {
	f := file(w)
	return f != nil && printers.IsTerminal(f)
}

// AllowsColorOutput is cli-runtime's printers.AllowsColorOutput (a terminal, no NO_COLOR, TERM not dumb),
// seeing through a wrapper as IsTerminal does.
func AllowsColorOutput(w any) bool {
	f := file(w)
	return f != nil && printers.AllowsColorOutput(f)
}

// terminalWidth returns a function reading the width of the terminal w writes to, or 0 when w is no
// terminal or its size cannot be read.
func terminalWidth(w any) func() int {
	f := file(w)
	if f == nil {
		return func() int { return 0 }
	}
	return func() int {
		cols, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			return 0
		}
		return cols
	}
}

// oneLine turns the control characters left in escaped text (a newline, a tab) into spaces: the status line
// is one line, and each of its characters takes a known number of cells.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// cells is how many terminal cells s takes: East Asian wide and fullwidth characters take two, combining
// marks and format characters none, the rest one. s holds no control characters (it was escaped).
func cells(s string) int {
	n := 0
	for _, r := range s {
		n += runeCells(r)
	}
	return n
}

func runeCells(r rune) int {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	case width.LookupRune(r).Kind() == width.EastAsianWide || width.LookupRune(r).Kind() == width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// cutToCells returns the longest start of s that takes at most n cells.
func cutToCells(s string, n int) string {
	used := 0
	for i, r := range s {
		c := runeCells(r)
		if used+c > n {
			return s[:i]
		}
		used += c
	}
	return s
}

// fitStatus joins prefix, status and suffix (the elapsed time) into a line that takes fewer cells than a
// terminal of the given width has, so that the cursor never reaches the last column and the line never wraps.
// The status is cut first, marked with an ellipsis, so that the prefix and the elapsed time stay readable;
// on a terminal too narrow even for those the whole line is cut. A width of 0 (unknown) cuts nothing.
func fitStatus(prefix, status, suffix string, cols int) string {
	line := prefix + status + suffix
	if cols <= 0 {
		return line
	}
	room := cols - 1
	if cells(line) <= room {
		return line
	}
	if keep := room - cells(prefix) - cells(suffix) - cells(ellipsis); keep > 0 {
		return prefix + strings.TrimRightFunc(cutToCells(status, keep), unicode.IsSpace) + ellipsis + suffix
	}
	return cutToCells(line, room)
}
