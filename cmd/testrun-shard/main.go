// Command testrun-shard runs one shard's share of a Go test binary or of ginkgo suites, in images that have
// no shell. The go-test and ginkgo definitions of kubectl-testrun put it before their command in a sharded
// run (spec.sharding split: wrap):
//
//	testrun-shard go BINARY -- COMMAND...   lists BINARY's tests (BINARY -test.list), then runs COMMAND with
//	                                        -test.run=^(this shard's tests)$ added at its end
//	testrun-shard ginkgo -- COMMAND...      lists the specs of the suites (*.test) of the ginkgo command with a
//	                                        dry run of each, then runs COMMAND with --focus of this shard's specs
//
// The shard comes from TESTRUN_SHARD_INDEX and TESTRUN_SHARD_COUNT, the plan of --balance-from from
// TESTRUN_SHARD_TESTS. Outside a sharded run it runs COMMAND as it is. It exits with COMMAND's code; a shard
// with no test runs COMMAND with a filter that selects none, which passes with an empty report.
//
// Install it into a test image with:
//
//	CGO_ENABLED=0 go install github.com/kubectl-testrun/kubectl-testrun/cmd/testrun-shard@latest
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/kubectl-testrun/kubectl-testrun/internal/share"
)

const usage = "usage: testrun-shard go BINARY -- COMMAND... or testrun-shard ginkgo -- COMMAND"

func main() {
	os.Exit(run(os.Args[1:]))
}

// run runs the launcher with args and returns its exit code; 125 is its own failure, as in kubectl-testrun.
func run(args []string) int {
	cmd, after, err := command(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testrun-shard: %v\n", err)
		return 125
	}
	code := execute(cmd)
	if after != nil {
		if err := after(); err != nil {
			fmt.Fprintf(os.Stderr, "testrun-shard: %v\n", err)
			return max(code, 1)
		}
	}
	return code
}

// command returns the command line of this shard, and what to do after it ran (nil for nothing).
func command(args []string) ([]string, func() error, error) {
	dash := slices.Index(args, "--")
	if len(args) == 0 || dash < 0 || dash == len(args)-1 {
		return nil, nil, fmt.Errorf("no command after --: %s", usage)
	}
	kind, params, cmd := args[0], args[1:dash], args[dash+1:]
	shard, sharded, err := share.FromEnv(os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	switch kind {
	case "go":
		if len(params) != 1 {
			return nil, nil, fmt.Errorf("give the Go test binary before --: %s", usage)
		}
		if !sharded {
			return cmd, nil, nil
		}
		cmd, err := goShare(shard, params[0], cmd)
		return cmd, nil, err
	case "ginkgo":
		if len(params) != 0 {
			return nil, nil, fmt.Errorf("nothing goes between ginkgo and --: %s", usage)
		}
		if !sharded {
			return cmd, nil, nil
		}
		return ginkgoShare(shard, cmd)
	default:
		return nil, nil, fmt.Errorf("%q is not a framework testrun-shard knows: use go or ginkgo (%s)", kind, usage)
	}
}

// goShare lists the tests of the test binary (those of the command's own -test.run, if any) and returns the
// command with a -test.run of this shard's share.
func goShare(shard share.Shard, binary string, cmd []string) ([]string, error) {
	pattern := share.GoRunFlag(cmd)
	if pattern == "" {
		pattern = "."
	}
	list := exec.Command(binary, "-test.list", pattern)
	list.Stderr = os.Stderr
	out, err := list.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the tests with %s -test.list %s: %w: check GO_TEST_BINARY names a test binary built with go test -c", binary, pattern, err)
	}
	all := share.GoTests(string(out))
	mine := shard.Take(all)
	announce(shard, "tests", all, mine)
	return append(slices.Clone(cmd), "-test.run="+share.GoRunPattern(mine)), nil
}

// ginkgoShare lists the specs of the command's suites with a dry run of each and returns the command with a
// --focus of this shard's share, and a function that takes the other shards' specs, which ginkgo reports as
// skipped, out of the command's JUnit report.
func ginkgoShare(shard share.Shard, cmd []string) ([]string, func() error, error) {
	filters, suites, rest := share.GinkgoCommand(cmd)
	if len(suites) == 0 {
		return nil, nil, fmt.Errorf("no compiled suite (a word ending in .test) in the ginkgo command %q: give the suites compiled with go test -c", strings.Join(cmd, " "))
	}
	tmp, err := os.MkdirTemp("", "testrun-shard")
	if err != nil {
		return nil, nil, fmt.Errorf("making a directory for the dry run's report: %w", err)
	}
	defer os.RemoveAll(tmp)
	var all []share.Test
	for i, suite := range suites {
		abs, err := filepath.Abs(suite)
		if err != nil {
			return nil, nil, err
		}
		report := filepath.Join(tmp, fmt.Sprintf("%d.json", i))
		// A suite runs in its binary's directory, as the ginkgo CLI runs it.
		dry := exec.Command(abs, slices.Concat([]string{"--ginkgo.dry-run", "--ginkgo.no-color", "--ginkgo.json-report=" + report}, filters)...)
		dry.Dir = filepath.Dir(abs)
		if out, err := dry.CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("listing the specs of %s with a dry run: %w\n%s", suite, err, out)
		}
		data, err := os.ReadFile(report)
		if err != nil {
			return nil, nil, fmt.Errorf("the dry run of %s wrote no report: %w", suite, err)
		}
		specs, err := share.GinkgoSpecs(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", suite, err)
		}
		all = append(all, specs...)
	}
	mine := shard.Take(all)
	announce(shard, "specs", all, mine)
	others := map[string]bool{}
	for _, t := range all {
		if !slices.ContainsFunc(mine, func(m share.Test) bool { return m.Key == t.Key }) {
			for _, n := range t.Names {
				others[n] = true
			}
		}
	}
	after := func() error {
		path := share.GinkgoJUnitPath(rest)
		if path == "" {
			return nil
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil // the run wrote none: kubectl testrun reports that
		}
		if err != nil {
			return fmt.Errorf("reading the JUnit report to take the other shards' specs out: %w", err)
		}
		kept, err := share.DropFiltered(data, func(name string) bool { return others[name] })
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return os.WriteFile(path, kept, 0o644)
	}
	return slices.Concat(rest[:1], []string{"--focus=" + share.GinkgoFocus(mine)}, rest[1:]), after, nil
}

// announce prints this shard's share to stderr, so that the run's output says what each shard runs.
func announce(shard share.Shard, what string, all, mine []share.Test) {
	names := make([]string, len(mine))
	for i, t := range mine {
		names[i] = t.Names[0]
	}
	fmt.Fprintf(os.Stderr, "testrun-shard: shard %d/%d runs %d of %d %s: %s\n", shard.Index, shard.Count, len(mine), len(all), what, strings.Join(names, ", "))
}

// execute runs cmd with the launcher's standard streams, passes on the signals that stop a container, and
// returns its exit code (128 plus the signal's number when a signal ended it).
func execute(cmd []string) int {
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(signals)
	if err := c.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "testrun-shard: starting %s: %v\n", cmd[0], err)
		return 127
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-signals:
				_ = c.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := c.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "testrun-shard: %s: %v\n", cmd[0], err)
		return 125
	}
}
