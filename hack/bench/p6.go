package main

import (
	"context"
	"fmt"
	"time"
)

func p6(ctx context.Context, e *env, n int) ([]row, error) {
	start := func(name string, args ...string) func(context.Context, int) (time.Duration, error) {
		return func(ctx context.Context, _ int) (time.Duration, error) {
			s := e.measure(e.command(ctx, name, args...))
			return s.took, s.err
		}
	}
	// Each is short and noisy on a shared machine: four times as many runs as the others.
	took, errs := interleave(ctx, 4*n, []way{
		{"kubectl-testrun --help", start(e.plugin, "--help")},
		{"kubectl testrun --help", start(e.kubectl, "testrun", "--help")},
		{"kubectl version --client", start(e.kubectl, "version", "--client")},
	})
	base := median(seconds(took[2]))
	ms := func(i int) string { return fmt.Sprintf("%.0f ms", 1000*median(seconds(took[i]))) }
	return []row{
		{id: "P6", what: "`kubectl-testrun --help` (the binary)", value: ms(0), base: "÷ kubectl version", ratio: median(seconds(took[0])) / base,
			goal: "≤ 1.5×", note: join(spread("%.3f", seconds(took[0])), failures(errs[0]))},
		{id: "P6", what: "`kubectl testrun --help` (through kubectl's plugin lookup)", value: ms(1), base: "÷ kubectl version",
			ratio: median(seconds(took[1])) / base, note: join(spread("%.3f", seconds(took[1])), failures(errs[1]))},
		{id: "P6", what: "`kubectl version --client`", value: ms(2), note: join(spread("%.3f", seconds(took[2])), failures(errs[2]))},
	}, nil
}
