package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The reports of P2: one random file of 1 GiB, and 1,000 small files.
const (
	bigSize    = 1 << 30
	smallFiles = 1000
)

// p2 copies the same reports out of one pod again and again, with kubectl testrun fetch (a tar and a sha256
// manifest made in the pod, verified locally) and with kubectl cp (from the holder, which has tar; nothing
// verified). The runs are applied from rendered manifests and nobody releases them, so their holders keep the
// pods for the whole benchmark.
func p2(ctx context.Context, e *env, n int) ([]row, error) {
	ns, err := e.namespace(ctx, "p2")
	if err != nil {
		return nil, err
	}
	var files []string
	for i := range smallFiles {
		files = append(files, fmt.Sprintf("small/%04d.txt=text:file %04d\\n", i, i))
	}
	big, bigPod, err := e.heldRun(ctx, ns, "big", fmt.Sprintf("big.bin=random:%d", bigSize))
	if err != nil {
		return nil, err
	}
	small, smallPod, err := e.heldRun(ctx, ns, "small", strings.Join(files, ";"))
	if err != nil {
		return nil, err
	}
	var rss [4][]float64
	copyOut := func(k int, args []string, check func(dir string) error) func(context.Context, int) (time.Duration, error) {
		return func(ctx context.Context, _ int) (time.Duration, error) {
			dir, err := os.MkdirTemp(e.tmp, "p2-")
			if err != nil {
				return 0, err
			}
			defer os.RemoveAll(dir)
			out := filepath.Join(dir, "out")
			a := make([]string, len(args))
			for i, arg := range args {
				a[i] = strings.ReplaceAll(arg, "OUT", out)
			}
			s := e.measure(e.command(ctx, a[0], a[1:]...))
			if s.err == nil {
				s.err = check(out)
			}
			if s.err == nil {
				rss[k] = append(rss[k], float64(s.rss)/1024)
			}
			return s.took, s.err
		}
	}
	bigFile := func(path string) func(string) error {
		return func(out string) error { return checkFile(filepath.Join(out, path), bigSize) }
	}
	took, errs := interleave(ctx, n, []way{
		{"fetch 1 GiB", copyOut(0, []string{e.plugin, "fetch", big, "-n", ns, "--to", "OUT", "--release=false", "--quiet"}, bigFile("big.bin"))},
		{"kubectl cp 1 GiB", copyOut(1, []string{e.kubectl, "-n", ns, "cp", "-c", "holder", bigPod + ":/testrun/reports/big.bin", "OUT"}, bigFile(""))},
		{"fetch 1,000 files", copyOut(2, []string{e.plugin, "fetch", small, "-n", ns, "--to", "OUT", "--release=false", "--quiet"}, countFiles)},
		{"kubectl cp 1,000 files", copyOut(3, []string{e.kubectl, "-n", ns, "cp", "-c", "holder", smallPod + ":/testrun/reports", "OUT"}, countFiles)},
	})
	mibps := func(k int) float64 { return bigSize / (1 << 20) / median(seconds(took[k])) }
	filesps := func(k int) float64 { return smallFiles / median(seconds(took[k])) }
	peak := func(k int) string { return fmt.Sprintf("peak RSS %.0f MiB (max %.0f)", median(rss[k]), maxOf(rss[k])) }
	return []row{
		{id: "P2", what: "`kubectl testrun fetch` of 1 GiB (sha256 verified)", value: fmt.Sprintf("%.0f MiB/s", mibps(0)),
			base: "÷ kubectl cp's MiB/s", ratio: mibps(0) / mibps(1), goal: "≥ 1.0×; RSS ≤ 64 MiB",
			note: join(peak(0), spread("%.1f s", seconds(took[0])), failures(errs[0]))},
		{id: "P2", what: "`kubectl cp` of 1 GiB (not verified)", value: fmt.Sprintf("%.0f MiB/s", mibps(1)),
			note: join(peak(1), spread("%.1f s", seconds(took[1])), failures(errs[1]))},
		{id: "P2", what: "`kubectl testrun fetch` of 1,000 small files", value: fmt.Sprintf("%.0f files/s", filesps(2)),
			base: "÷ kubectl cp's files/s", ratio: filesps(2) / filesps(3), goal: "≥ 1.0×",
			note: join(peak(2), spread("%.2f s", seconds(took[2])), failures(errs[2]))},
		{id: "P2", what: "`kubectl cp` of 1,000 small files", value: fmt.Sprintf("%.0f files/s", filesps(3)),
			note: join(peak(3), spread("%.2f s", seconds(took[3])), failures(errs[3]))},
	}, nil
}

// heldRun applies a run of the testee that writes files (TESTEE_FILES) into its reports, the way a GitOps user
// would (a rendered manifest, applied with kubectl), and waits until its test ended. Nobody releases it: its
// holder keeps the pod for an hour. It returns the run's name and its pod's.
func (e *env) heldRun(ctx context.Context, ns, name, files string) (string, string, error) {
	render := e.measure(e.command(ctx, e.plugin, "run", name, "-n", ns, "--image", testee, "--hold", "1h",
		"--dry-run=client", "-o", "yaml", "--env", "TESTEE_FILES="+files))
	if render.err != nil {
		return "", "", render.err
	}
	names, err := e.createFrom(ctx, ns, render.stdout)
	if err != nil {
		return "", "", fmt.Errorf("creating the run %s: %w", name, err)
	}
	if len(names) != 1 {
		return "", "", fmt.Errorf("creating the run %s made %v, want one Job", name, names)
	}
	pod, err := e.podOf(ctx, ns, "testrun.dev/name="+names[0])
	if err != nil {
		return "", "", err
	}
	logf("  waiting for %s to write its reports", pod)
	_, err = e.k(ctx, "-n", ns, "wait", "pod/"+pod, "--timeout=5m",
		`--for=jsonpath={.status.containerStatuses[?(@.name=="test")].state.terminated.reason}=Completed`)
	return names[0], pod, err
}

// countFiles checks that dir holds the 1,000 small files, wherever they are below it.
func countFiles(dir string) error {
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err == nil && n != smallFiles {
		err = fmt.Errorf("%s holds %d files, want %d", dir, n, smallFiles)
	}
	return err
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
