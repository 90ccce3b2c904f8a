// Command bench measures kubectl testrun against plain kubectl on the local cluster and prints one table: each
// figure is the median of BENCH_N runs (default 5) interleaved with its baselines in the same run, with the
// ratio to each baseline and the goal of issue 13. Nothing is asserted: the figures are for reading.
//
//	make bench                  # everything, several minutes
//	make bench BENCH=P1,P4      # a subset; P2 (1 GiB) and P5 (20 runs at once) are the slow ones
//	go run ./hack/bench -h
//
// It brings the local cluster up (or reuses it: hack/cluster/cluster.sh up does nothing when it runs), builds
// the plugin the way releases are built, loads the test images, runs each benchmark in its own namespace and
// deletes that namespace, waiting until it is gone, before the next one. Baselines use the harness kubectl
// at the cluster's version.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchmark is one of P1…P6.
type benchmark struct {
	id, what string
	run      func(ctx context.Context, e *env, n int) ([]row, error)
}

var benchmarks = []benchmark{
	{"P1", "end-to-end run against the bare-pod floor and kubectl scripts", p1},
	{"P2", "fetch throughput and peak RSS against kubectl cp (1 GiB, 1,000 small files)", p2},
	{"P3", "delay from the container's start to its lines on stdout", p3},
	{"P4", "API requests of a 1 s and a 60 s test; the holder's cost while it waits", p4},
	{"P5", "20 concurrent runs", p5},
	{"P6", "start-up: --help against kubectl version --client", p6},
	{"T1", "timeline of one run: where the time goes from the test's end to the exit", timeline},
	{"S1", "the shell sample suite in one pod against 3 shards (--shards 3)", s1},
}

func main() {
	only := flag.String("bench", os.Getenv("BENCH"), "comma-separated benchmarks to run, e.g. P1,P4 (default: all)")
	n := flag.Int("n", envInt("BENCH_N", 5), "runs of each measurement (BENCH_N)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./hack/bench [-bench P1,P4] [-n 5]\n\nbenchmarks:\n")
		for _, b := range benchmarks {
			fmt.Fprintf(os.Stderr, "  %s  %s\n", b.id, b.what)
		}
		flag.PrintDefaults()
	}
	flag.Parse()
	selected, err := selectBenchmarks(*only)
	if err == nil && *n < 1 {
		err = fmt.Errorf("-n (BENCH_N) is %d: give at least 1", *n)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = bench(ctx, selected, *n)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func bench(ctx context.Context, selected []benchmark, n int) error {
	e, err := setup(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	start := time.Now()
	load := loadAverage()
	var rows []row
	var failed []string
	for _, b := range selected {
		logf("%s: %s", b.id, b.what)
		r, err := b.run(ctx, e, n)
		rows = append(rows, r...)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", b.id, err))
			logf("%s failed: %v", b.id, err)
		}
		// Before the next benchmark, so that its pods (P2 holds 1 GiB) weigh on no other figure.
		e.deleteNamespaces()
		if ctx.Err() != nil {
			break
		}
	}
	printTable(os.Stdout, rows, summary{start: start, took: time.Since(start), n: n, loadBefore: load, loadAfter: loadAverage(), selfRSS: e.selfRSS})
	if len(failed) > 0 {
		return fmt.Errorf("some benchmarks failed:\n  %s", strings.Join(failed, "\n  "))
	}
	return nil
}

// selectBenchmarks returns the benchmarks named in the comma-separated list only, all of them when it is empty.
func selectBenchmarks(only string) ([]benchmark, error) {
	if strings.TrimSpace(only) == "" {
		return benchmarks, nil
	}
	var out []benchmark
	for _, id := range strings.Split(only, ",") {
		id = strings.ToUpper(strings.TrimSpace(id))
		i := slices.IndexFunc(benchmarks, func(b benchmark) bool { return b.id == id })
		if i < 0 {
			return nil, fmt.Errorf("BENCH names %q: give a comma-separated list of P1 to P6 and T1", id)
		}
		out = append(out, benchmarks[i])
	}
	return out, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// logf prints progress on stderr, so that stdout holds only the table.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
