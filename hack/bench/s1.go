package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// s1 measures the wall time of the shell plugin's sample suite (hack/cluster/suites.sh) run whole and split
// in 3 shards of one Indexed Job (--shards 3), interleaved, both with --reports. The sample suite's scripts
// end at once, so the figure is what sharding costs around the tests: more pods, fetches and a merge.
func s1(ctx context.Context, e *env, n int) ([]row, error) {
	out, err := e.script(ctx, "hack/cluster/suites.sh", "shell")
	if err != nil {
		return nil, err
	}
	image := lastLine(out)
	ns, err := e.namespace(ctx, "s1")
	if err != nil {
		return nil, err
	}
	suite := func(flags ...string) func(ctx context.Context, i int) (time.Duration, error) {
		return func(ctx context.Context, i int) (time.Duration, error) {
			dir, err := os.MkdirTemp(e.tmp, "reports-")
			if err != nil {
				return 0, err
			}
			defer os.RemoveAll(dir)
			args := append([]string{"run", "--plugin", "shell", "-n", ns, "--image", image, "--reports", filepath.Join(dir, "r")}, flags...)
			s := e.measure(e.command(ctx, e.plugin, args...))
			// The sample suite has a failing script on purpose: exit code 1 is its verdict.
			if code := exitCode(s.err); code != 1 {
				return s.took, fmt.Errorf("exit code %d, want 1 (the suite's failing script): %s", code, tail(s.stderr, 5))
			}
			return s.took, checkJUnit(filepath.Join(dir, "r", "junit.xml"))
		}
	}
	ways := []way{{"whole", suite()}, {"3 shards", suite("--shards", "3")}}
	took, errs := interleave(ctx, n, ways)
	whole, sharded := median(seconds(took[0])), median(seconds(took[1]))
	return []row{
		{id: "S1", what: "shell sample suite (4 scripts), one pod, `run --plugin shell --reports DIR`", value: fmt.Sprintf("%.2f s", whole),
			note: join(spread("%.2f", seconds(took[0])), failures(errs[0]))},
		{id: "S1", what: "the same in 3 shards (`--shards 3`: 3 pods, 3 fetches, merged junit.xml)", value: fmt.Sprintf("%.2f s", sharded),
			base: "÷ one pod", ratio: sharded / whole, note: join(spread("%.2f", seconds(took[1])), failures(errs[1]))},
	}, nil
}

// checkJUnit checks that the merged report is there.
func checkJUnit(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no merged report: %w", err)
	}
	return nil
}

// exitCode returns the exit code err carries, 0 for none and -1 for an error that is no exit.
func exitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	return -1
}
