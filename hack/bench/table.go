package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// row is one line of the table: a measured figure and, when it has one, its ratio to a baseline measured
// in the same run.
type row struct {
	id    string // P1…P6
	what  string
	value string // the median, with its unit
	base  string // what the ratio is taken against; empty for none
	ratio float64
	goal  string
	note  string
}

// summary is what the table's header says about the run.
type summary struct {
	start                 time.Time
	took                  time.Duration
	n                     int
	loadBefore, loadAfter string
	selfRSS               int64
}

// printTable prints rows as a Markdown table, ready for docs/performance.md.
func printTable(w io.Writer, rows []row, s summary) {
	fmt.Fprintf(w, "\nmake bench, %s, %s; N=%d interleaved runs per figure (medians); took %s\n",
		s.start.UTC().Format("2006-01-02 15:04 MST"), machine(), s.n, s.took.Round(time.Second))
	fmt.Fprintf(w, "load average before %s, after %s; peak RSS figures cannot be below this program's own %d MiB (vfork)\n\n",
		s.loadBefore, s.loadAfter, (s.selfRSS+1023)/1024)
	fmt.Fprintln(w, "| | measured | median | against | ratio | goal | notes |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		ratio := ""
		switch {
		case r.base == "":
		case math.IsNaN(r.ratio) || math.IsInf(r.ratio, 0):
			ratio = "—"
		default:
			ratio = fmt.Sprintf("%.2f×", r.ratio)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", r.id, r.what, r.value, r.base, ratio, r.goal, r.note)
	}
}

// median of xs; 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// spread is "min–max" of xs in the format f, for the notes.
func spread(f string, xs []float64) string {
	if len(xs) == 0 {
		return ""
	}
	return fmt.Sprintf("range "+f+"–"+f, slices.Min(xs), slices.Max(xs))
}

// failures summarises the errors of a measurement's runs for the notes; empty when all were correct.
func failures(errs []error) string {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, strings.ReplaceAll(err.Error(), "\n", " "))
		}
	}
	if len(msgs) == 0 {
		return ""
	}
	return fmt.Sprintf("**%d run(s) failed**: %s", len(msgs), msgs[0])
}
