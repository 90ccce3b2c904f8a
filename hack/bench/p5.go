package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// concurrent is how many runs P5 starts at once.
const concurrent = 20

// p5 starts 20 runs at once (the plugin itself, so that its resident set is its own), then 20 bare pods at
// once with kubectl run and kubectl wait, and compares the wall time until the last one ended.
func p5(ctx context.Context, e *env, _ int) ([]row, error) {
	ns, err := e.namespace(ctx, "p5")
	if err != nil {
		return nil, err
	}
	script := testScript("1")
	var rss []float64
	var mu sync.Mutex
	runs, runErrs := atOnce(func(i int) (time.Duration, error) {
		s, err := e.pluginRun(ctx, ns, "p5", script, false)
		if err == nil {
			mu.Lock()
			rss = append(rss, float64(s.rss)/1024)
			mu.Unlock()
		}
		return s.took, err
	})
	logf("  %d runs at once: %s, %s", concurrent, runs.Round(time.Millisecond), errOrOK(failuresErr(runErrs)))
	floors, floorErrs := atOnce(func(i int) (time.Duration, error) {
		return e.floor(ctx, ns, fmt.Sprintf("floor-%d", i), script)
	})
	logf("  %d bare pods at once: %s, %s", concurrent, floors.Round(time.Millisecond), errOrOK(failuresErr(floorErrs)))
	return []row{
		{id: "P5", what: "20 `kubectl testrun run --reports` at once: until the last exited", value: fmt.Sprintf("%.1f s", runs.Seconds()),
			base: "÷ 20 bare pods'", ratio: runs.Seconds() / floors.Seconds(), goal: "all correct",
			note: join(fmt.Sprintf("%d/%d correct", concurrent-len(nonNil(runErrs)), concurrent), failures(runErrs))},
		{id: "P5", what: "… their peak RSS per client (median, max)", value: fmt.Sprintf("%.0f MiB, %.0f MiB", median(rss), maxOf(rss)), goal: "≤ 100 MiB"},
		{id: "P5", what: "20 bare pods at once (`kubectl run` + `kubectl wait`)", value: fmt.Sprintf("%.1f s", floors.Seconds()),
			note: join(fmt.Sprintf("%d/%d succeeded", concurrent-len(nonNil(floorErrs)), concurrent), failures(floorErrs))},
	}, nil
}

// atOnce runs f for 0…19 at the same time and returns the wall time until the last one returned.
func atOnce(f func(i int) (time.Duration, error)) (time.Duration, []error) {
	errs := make([]error, concurrent)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range concurrent {
		wg.Go(func() { _, errs[i] = f(i) })
	}
	wg.Wait()
	return time.Since(start), errs
}

func nonNil(errs []error) []error {
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func failuresErr(errs []error) error {
	if bad := nonNil(errs); len(bad) > 0 {
		return fmt.Errorf("%d failed, first: %w", len(bad), bad[0])
	}
	return nil
}
