// Package balance splits the tests of a suite over the shards of a sharded run from the durations of an
// earlier run, so that the shards finish close together (--balance-from, docs/sharding.md). It is pure: the
// same durations and shard count give the same split on every run.
package balance

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
)

// Plan is a split of tests over shards.
type Plan struct {
	// Shards holds, for each shard by index, its tests, longest first.
	Shards [][]junit.CaseTime
	// Seconds holds, for each shard, the sum of its tests' durations: when it should finish.
	Seconds []float64
}

// Split assigns every test to one of n shards: the longest first, each to the shard that has the least
// work so far (the lowest index on a tie). Tests of equal duration are taken in name order, so the split is
// deterministic. n must be at least 1.
func Split(tests []junit.CaseTime, n int) Plan {
	sorted := slices.Clone(tests)
	slices.SortFunc(sorted, func(a, b junit.CaseTime) int {
		if c := cmp.Compare(b.Seconds, a.Seconds); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	p := Plan{Shards: make([][]junit.CaseTime, n), Seconds: make([]float64, n)}
	for _, t := range sorted {
		least := 0
		for i := 1; i < n; i++ {
			if p.Seconds[i] < p.Seconds[least] {
				least = i
			}
		}
		p.Shards[least] = append(p.Shards[least], t)
		p.Seconds[least] += t.Seconds
	}
	return p
}

// Names returns, for each shard, the names of its tests, as the Job carries them.
func (p Plan) Names() [][]string {
	names := make([][]string, len(p.Shards))
	for i, s := range p.Shards {
		names[i] = []string{}
		for _, t := range s {
			names[i] = append(names[i], t.Name)
		}
	}
	return names
}

// listed is how many tests Lines names per shard before it counts the rest.
const listed = 5

// Lines says the split for a person, one line per shard:
//
//	shard 0/3: 2 tests, 6s: login (4s), search (2s)
func (p Plan) Lines() []string {
	lines := make([]string, len(p.Shards))
	for i, s := range p.Shards {
		var b strings.Builder
		fmt.Fprintf(&b, "shard %d/%d: %d test%s, %s", i, len(p.Shards), len(s), plural(len(s)), seconds(p.Seconds[i]))
		for j, t := range s {
			if j == listed {
				fmt.Fprintf(&b, ", and %d more", len(s)-listed)
				break
			}
			sep := ", "
			if j == 0 {
				sep = ": "
			}
			fmt.Fprintf(&b, "%s%s (%s)", sep, t.Name, seconds(t.Seconds))
		}
		lines[i] = b.String()
	}
	return lines
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// seconds writes a duration in seconds the way Go writes durations, to the tenth of a second.
func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}
