package junit

import (
	"fmt"
	"os"
	"slices"
	"strings"

	gojunit "github.com/joshdk/go-junit"
)

// CaseTime is how long one test case took.
type CaseTime struct {
	// Name is the case's name attribute.
	Name string `json:"name"`
	// Seconds is its duration.
	Seconds float64 `json:"seconds"`
}

// Durations reads the JUnit reports files, relative to dir as [Find] returns them, and returns how long
// each test case took, by case name (cases of the same name in several suites or files add up), sorted by
// name. It is the input of a balanced split of a suite (--balance-from). Files are read as [Summarize]
// reads them: through an [os.Root], each at most 256 MiB.
func Durations(dir string, files []string) ([]CaseTime, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening report directory %q: %w", dir, err)
	}
	defer func() { _ = root.Close() }()
	sums := map[string]float64{}
	for _, name := range slices.Compact(slices.Sorted(slices.Values(files))) {
		data, err := readReport(root, name, maxReportBytes)
		if err != nil {
			return nil, err
		}
		suites, err := gojunit.Ingest(data)
		if err != nil {
			return nil, fmt.Errorf("parsing junit report %q: %w", name, err)
		}
		for _, s := range suites {
			addDurations(sums, s)
		}
	}
	times := make([]CaseTime, 0, len(sums))
	for name, s := range sums {
		times = append(times, CaseTime{Name: name, Seconds: s})
	}
	slices.SortFunc(times, func(a, b CaseTime) int { return strings.Compare(a.Name, b.Name) })
	return times, nil
}

// addDurations adds the durations of the cases of suite, and of the suites nested in it, to sums. A
// negative duration (a time go-junit could not represent) counts as none.
func addDurations(sums map[string]float64, suite gojunit.Suite) {
	for _, t := range suite.Tests {
		sums[t.Name] += max(t.Duration.Seconds(), 0)
	}
	for _, nested := range suite.Suites {
		addDurations(sums, nested)
	}
}
