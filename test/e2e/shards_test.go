//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// junitCases returns "classname/name" of every <testcase> of the JUnit report at path, sorted.
func junitCases(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the JUnit report: %v", err)
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				Class string `xml:"classname,attr"`
				Name  string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parsing %s: %v\n%s", path, err, data)
	}
	var cases []string
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			cases = append(cases, c.Class+"/"+c.Name)
		}
	}
	slices.Sort(cases)
	return cases
}

// shardDoc is the part of the result document of a sharded run these tests read.
type shardDoc struct {
	ExitCode int    `json:"exitCode"`
	Phase    string `json:"phase"`
	Pods     []struct {
		Name string `json:"name"`
	} `json:"pods"`
	Reports struct {
		JUnit struct {
			Tests    int `json:"tests"`
			Failures int `json:"failures"`
		} `json:"junit"`
	} `json:"reports"`
	Shards []struct {
		Index    int    `json:"index"`
		Phase    string `json:"phase"`
		ExitCode int    `json:"exitCode"`
		Reason   string `json:"reason"`
	} `json:"shards"`
}

// 1. The shell plugin's sample suite split in 3 shards runs every test exactly once: the merged report has
// the same cases as the report of an unsharded run. Every shard's output streams, prefixed with its shard;
// its reports come home into shard-<i>/ although shard 1 (which has the failing script) failed, and the
// command exits with shard 1's code. The result document has a row per shard.
func TestShardedSuiteRunsEveryTestOnceAndMergesTheReports(t *testing.T) {
	image := suiteImage(t, "shell")
	ns := namespace(t)
	whole := filepath.Join(t.TempDir(), "whole")
	r := testrun(t, "run", "--plugin", "shell", "--image", image, "-n", ns, "--reports", whole)
	wantCode(t, r, 1)
	want := junitCases(t, filepath.Join(whole, "junit.xml"))
	if len(want) != 4 {
		t.Fatalf("the unsharded sample suite has 4 cases, got %v", want)
	}

	out := filepath.Join(t.TempDir(), "sharded")
	r = testrun(t, "run", "--plugin", "shell", "--image", image, "-n", ns, "--reports", out, "--shards", "3", "-o", "json")
	wantCode(t, r, 1)
	if diff := cmp.Diff(want, junitCases(t, filepath.Join(out, "junit.xml"))); diff != "" {
		t.Errorf("the merged report's cases against the unsharded run's (-want +got):\n%s\nstderr:\n%s", diff, r.stderr)
	}
	var all []string
	for i, shard := range []string{"shard-0", "shard-1", "shard-2"} {
		cases := junitCases(t, filepath.Join(out, shard, "junit.xml"))
		if len(cases) == 0 {
			t.Errorf("%s ran no test: %v", shard, cases)
		}
		all = append(all, cases...)
		// Each shard's output, with its own prefix (with -o json it goes to stderr).
		for _, c := range cases {
			line := "[shard " + string(rune('0'+i)) + "/3] === RUN   " + strings.TrimPrefix(c, "shell/")
			if !strings.Contains(r.stderr, line) {
				t.Errorf("the output lacks %q:\n%s", line, r.stderr)
			}
		}
	}
	slices.Sort(all)
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("every test runs in exactly one shard (-want +got):\n%s", diff)
	}
	wantStderr(t, r, "[shard 1/3] --- FAIL: greeting", "shard 0/3 passed", "shard 2/3 passed",
		"shard 1/3 failed with exit code 1, the failing shard of the lowest index: the command exits with it")
	var doc shardDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not the result document: %v\n%s", err, r)
	}
	type row struct {
		Index    int
		Phase    string
		ExitCode int
	}
	var rows []row
	for _, s := range doc.Shards {
		rows = append(rows, row{s.Index, s.Phase, s.ExitCode})
	}
	wantRows := []row{{0, "Passed", 0}, {1, "Failed", 1}, {2, "Passed", 0}}
	if diff := cmp.Diff(wantRows, rows); diff != "" {
		t.Errorf("the result document's shards (-want +got):\n%s", diff)
	}
	if doc.ExitCode != 1 || doc.Phase != "Failed" || len(doc.Pods) != 3 || doc.Reports.JUnit.Tests != 4 || doc.Reports.JUnit.Failures != 1 {
		t.Errorf("the result document: want exit code 1, Failed, 3 pods, 4 tests with 1 failure; got %+v", doc)
	}
	assertNothingLeft(t, ns)
}

// 2. --fail-fast: the shard that fails ends the run with its code, and the others, still running, are
// stopped and deleted instead of running on.
func TestShardedRunFailFastStopsTheOtherShards(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "ff", "-n", ns, "--image", busybox, "--shards", "3", "--fail-fast", "--timeout", "5m", "--",
		"sh", "-c", `echo "shard $TESTRUN_SHARD_INDEX of $TESTRUN_SHARD_COUNT"; if [ "$TESTRUN_SHARD_INDEX" = 1 ]; then sleep 2; exit 3; fi; exec sleep 600`)
	wantCode(t, r, 3)
	wantStderr(t, r, "shard 1/3 failed with exit code 3, and --fail-fast stops the other shards",
		"shard 0/3 was stopped (--fail-fast)", "shard 2/3 was stopped (--fail-fast)", "failed with exit code 3")
	if !strings.Contains(r.stdout, "[shard 1/3] shard 1 of 3") {
		t.Errorf("shard 1's output is missing or not prefixed:\n%s", r)
	}
	assertNothingLeft(t, ns)
}

// 3. Ctrl-C while every shard runs deletes the one Job and all its pods before the command exits 130.
func TestInterruptedShardedRunLeavesNothing(t *testing.T) {
	ns := namespace(t)
	cmd := command(t.Context(), pluginBin, "run", "int", "-n", ns, "--image", busybox, "--shards", "3", "--",
		"sh", "-c", "echo started; exec sleep 600")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	started := make(chan struct{})
	go func() {
		reader, seen := bufio.NewReader(stdout), 0
		for {
			l, err := reader.ReadString('\n')
			if strings.HasSuffix(l, "] started\n") {
				if seen++; seen == 3 {
					close(started)
				}
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(90 * time.Second):
		t.Fatalf("the 3 shards did not all start within 90s; stderr:\n%s", stderr.String())
	}
	if code := interrupt(t, cmd); code != 130 {
		t.Fatalf("exit code after SIGINT = %d, want 130; stderr:\n%s", code, stderr.String())
	}
	assertNothingLeft(t, ns)
	if !strings.Contains(stderr.String(), "interrupted with exit code 130") {
		t.Errorf("the verdict says nothing of the interrupt:\n%s", stderr.String())
	}
}
