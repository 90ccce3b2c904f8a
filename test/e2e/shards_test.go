//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
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

// assertSplitInThree checks the reports of a run in 3 shards under out against want, the sorted cases of the
// same suite unsharded: the merged report has the same cases, each shard ran a part of them, and every case
// ran in exactly one shard.
func assertSplitInThree(t *testing.T, want []string, out string, r result) {
	t.Helper()
	if diff := cmp.Diff(want, junitCases(t, filepath.Join(out, "junit.xml"))); diff != "" {
		t.Errorf("the merged report's cases against the unsharded run's (-want +got):\n%s\n%s", diff, r)
	}
	var all []string
	for _, shard := range []string{"shard-0", "shard-1", "shard-2"} {
		cases := junitCases(t, filepath.Join(out, shard, "junit.xml"))
		if len(cases) == 0 || len(cases) == len(want) {
			t.Errorf("%s ran %v: want a share of the %d tests", shard, cases, len(want))
		}
		all = append(all, cases...)
	}
	slices.Sort(all)
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("every test runs in exactly one shard (-want +got):\n%s", diff)
	}
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

// 2b. --fail-fast with --keep still stops the other shards: the kept Job is suspended, so the Job controller
// deletes the pods still running, and the Job stays for inspection, suspended, with the failed shard's pod.
func TestShardedRunFailFastWithKeepStopsTheOtherShards(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "ffk", "-n", ns, "--image", busybox, "--shards", "3", "--fail-fast", "--keep", "--timeout", "5m", "--",
		"sh", "-c", `echo "shard $TESTRUN_SHARD_INDEX of $TESTRUN_SHARD_COUNT"; if [ "$TESTRUN_SHARD_INDEX" = 1 ]; then sleep 2; exit 3; fi; exec sleep 600`)
	wantCode(t, r, 3)
	wantStderr(t, r, "shard 1/3 failed with exit code 3, and --fail-fast stops the other shards",
		"its other shards were stopped, the Job and the ended shards' pods are kept")
	run := ""
	for _, l := range lines(r.stderr) {
		if name, ok := strings.CutPrefix(l, "testrun: created job "); ok {
			run = strings.Fields(name)[0]
		}
	}
	if run == "" {
		t.Fatalf("no run name in the output:\n%s", r)
	}
	if got := kubectl(t, "get", "job", run, "-n", ns, "-o", "jsonpath={.spec.suspend}"); got != "true" {
		t.Errorf("the kept Job's spec.suspend = %q, want true", got)
	}
	pods := kubectl(t, "get", "pods", "-n", ns, "-l", "testrun.dev/name="+run, "-o",
		`jsonpath={range .items[*]}{.metadata.labels.batch\.kubernetes\.io/job-completion-index} {.status.phase}{"\n"}{end}`)
	for _, l := range lines(pods) {
		if f := strings.Fields(l); len(f) == 2 && (f[1] == "Running" || f[1] == "Pending") {
			t.Errorf("shard %s's pod is still %s after the command exited:\n%s", f[0], f[1], pods)
		}
	}
	if !strings.Contains(pods, "1 Failed") {
		t.Errorf("the failed shard's pod is not kept (index phase):\n%s", pods)
	}
	wantCode(t, testrun(t, "delete", run, "-n", ns, "--wait"), 0)
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

// skewedDefinition writes a definition file: the shipped shell plugin over six scripts mounted at /skew, of
// which s1 and s4 sleep 3 s and the rest return at once. Round robin over 3 shards gives shard 0 both slow
// scripts.
func skewedDefinition(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "plugins", "shell.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]any
	if err := yaml.Unmarshal(data, &def); err != nil {
		t.Fatal(err)
	}
	def["metadata"] = map[string]any{"name": "skewed"}
	spec := def["spec"].(map[string]any)
	spec["args"] = []string{"/skew"}
	var config []map[string]any
	for i := 1; i <= 6; i++ {
		script := "true"
		if i == 1 || i == 4 {
			script = "sleep 3"
		}
		name := "s" + string(rune('0'+i))
		config = append(config, map[string]any{"name": name, "type": "file", "path": "/skew/" + name + ".sh", "value": script + "\n"})
	}
	spec["config"] = config
	out, err := yaml.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "skewed.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// 4. --balance-from evens out a skewed suite: an earlier run's report says s1 and s4 take 3 s each, so the
// split puts each on a shard of its own and the quick ones on the third, where round robin gives shard 0
// both. The split is printed, with the durations, before the run, and every test still runs exactly once.
func TestBalanceFromEvensOutASkewedSuite(t *testing.T) {
	image := suiteImage(t, "shell")
	ns := namespace(t)
	def := skewedDefinition(t)
	earlier := filepath.Join(t.TempDir(), "earlier")
	r := testrun(t, "run", "-f", def, "--image", image, "-n", ns, "--reports", earlier)
	wantCode(t, r, 0)
	all := junitCases(t, filepath.Join(earlier, "junit.xml"))

	roundRobin := filepath.Join(t.TempDir(), "round-robin")
	r = testrun(t, "run", "-f", def, "--image", image, "-n", ns, "--reports", roundRobin, "--shards", "3")
	wantCode(t, r, 0)
	if got, want := junitCases(t, filepath.Join(roundRobin, "shard-0", "junit.xml")), []string{"shell/s1", "shell/s4"}; !cmp.Equal(want, got) {
		t.Fatalf("without --balance-from, shard 0 should run both slow scripts (round robin), got %v", got)
	}

	balanced := filepath.Join(t.TempDir(), "balanced")
	r = testrun(t, "run", "-f", def, "--image", image, "-n", ns, "--reports", balanced, "--shards", "3",
		"--balance-from", filepath.Join(earlier, "junit.xml"))
	wantCode(t, r, 0)
	wantStderr(t, r, "balanced from "+filepath.Join(earlier, "junit.xml"))
	// The shell runner times scripts in whole seconds: a sleep of 3 s is 3 or 4, an instant script 0 or 1.
	for _, line := range []string{`shard 0/3: 1 test, [34]s: s1 \([34]s\)`, `shard 1/3: 1 test, [34]s: s4 \([34]s\)`, `shard 2/3: 4 tests, [0-4]s: s[2356] \([01]s\)`} {
		if !regexp.MustCompile(line).MatchString(r.stderr) {
			t.Errorf("the printed split lacks a line matching %q:\n%s", line, r.stderr)
		}
	}
	want := [][]string{{"shell/s1"}, {"shell/s4"}, {"shell/s2", "shell/s3", "shell/s5", "shell/s6"}}
	for i, w := range want {
		if got := junitCases(t, filepath.Join(balanced, "shard-"+string(rune('0'+i)), "junit.xml")); !cmp.Equal(w, got) {
			t.Errorf("with --balance-from, shard %d ran %v, want %v; stderr:\n%s", i, got, w, r.stderr)
		}
	}
	if diff := cmp.Diff(all, junitCases(t, filepath.Join(balanced, "junit.xml"))); diff != "" {
		t.Errorf("the balanced run's merged report against the earlier run's cases (-want +got):\n%s", diff)
	}
	assertNothingLeft(t, ns)
}

// 5. The pytest plugin runs its share of the collected tests: its sample suite in 3 shards runs every test
// exactly once, as the unsharded run does, and pytest says how many it deselected in each shard.
func TestPytestSuiteInShardsRunsEveryTestOnce(t *testing.T) {
	image := suiteImage(t, "pytest")
	ns := namespace(t)
	whole := filepath.Join(t.TempDir(), "whole")
	r := testrun(t, "run", "--plugin", "pytest", "--image", image, "-n", ns, "--reports", whole)
	wantCode(t, r, 1)
	want := junitCases(t, filepath.Join(whole, "junit.xml"))

	out := filepath.Join(t.TempDir(), "sharded")
	r = testrun(t, "run", "--plugin", "pytest", "--image", image, "-n", ns, "--reports", out, "--shards", "3")
	wantCode(t, r, 1)
	assertSplitInThree(t, want, out, r)
	if !strings.Contains(r.stdout, "deselected") {
		t.Errorf("pytest did not say it deselected the other shards' tests:\n%s", r.stdout)
	}
	assertNothingLeft(t, ns)
}

// 5b. The go-test, jest and ginkgo plugins run their share in a sharded run: each sample suite in 3 shards
// runs every test exactly once, as the unsharded run does, every shard running a part of it. go-test and
// ginkgo go through testrun-shard, which says what each shard runs; jest through its own --shard (by file).
func TestFrameworkSuitesInShardsRunEveryTestOnce(t *testing.T) {
	for _, tc := range []struct {
		plugin string
		// said is what shard 1's output says of its share.
		said string
	}{
		{plugin: "go-test", said: "[shard 1/3] testrun-shard: shard 1/3 runs 1 of 4 tests: TestRunMetadata"},
		{plugin: "ginkgo", said: "[shard 1/3] testrun-shard: shard 1/3 runs 1 of 4 specs: the sample sees its report directory"},
		{plugin: "jest", said: "[shard 1/3] PASS tests/"},
	} {
		t.Run(tc.plugin, func(t *testing.T) {
			image := suiteImage(t, tc.plugin)
			ns := namespace(t)
			whole := filepath.Join(t.TempDir(), "whole")
			r := testrun(t, "run", "--plugin", tc.plugin, "--image", image, "-n", ns, "--reports", whole)
			wantCode(t, r, 1)
			want := junitCases(t, filepath.Join(whole, "junit.xml"))
			if len(want) != 4 {
				t.Fatalf("the unsharded sample suite has 4 cases, got %v", want)
			}

			out := filepath.Join(t.TempDir(), "sharded")
			r = testrun(t, "run", "--plugin", tc.plugin, "--image", image, "-n", ns, "--reports", out, "--shards", "3")
			wantCode(t, r, 1)
			assertSplitInThree(t, want, out, r)
			if !strings.Contains(r.stdout+r.stderr, tc.said) {
				t.Errorf("the output lacks %q:\n%s", tc.said, r)
			}
			assertNothingLeft(t, ns)
		})
	}
}

// 5c. The go-test plugin follows the plan of --balance-from (TESTRUN_SHARD_TESTS): with a report that makes
// TestGreeting and TestRunMetadata the slow ones, each gets a shard of its own and the quick ones share the
// third, where round robin would give shard 0 TestAddition and TestSkipped and shard 2 TestGreeting. Every
// test still runs exactly once.
func TestGoTestShardsFollowTheBalancedPlan(t *testing.T) {
	image := suiteImage(t, "go-test")
	ns := namespace(t)
	earlier := filepath.Join(t.TempDir(), "earlier.xml")
	report := `<testsuites><testsuite name="suite" tests="4">
<testcase classname="suite" name="TestAddition" time="1"/><testcase classname="suite" name="TestRunMetadata" time="5"/>
<testcase classname="suite" name="TestGreeting" time="5"/><testcase classname="suite" name="TestSkipped" time="1"/>
</testsuite></testsuites>`
	if err := os.WriteFile(earlier, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	r := testrun(t, "run", "--plugin", "go-test", "--image", image, "-n", ns, "--reports", out, "--shards", "3", "--balance-from", earlier)
	wantCode(t, r, 1)
	wantStderr(t, r, "shard 0/3: 1 test, 5s: TestGreeting (5s)", "shard 2/3: 2 tests, 2s: TestAddition (1s), TestSkipped (1s)")
	for i, want := range [][]string{{"suite/TestGreeting"}, {"suite/TestRunMetadata"}, {"suite/TestAddition", "suite/TestSkipped"}} {
		shard := "shard-" + string(rune('0'+i))
		if diff := cmp.Diff(want, junitCases(t, filepath.Join(out, shard, "junit.xml"))); diff != "" {
			t.Errorf("%s ran (-want +got):\n%s\n%s", shard, diff, r)
		}
	}
	if !strings.Contains(r.stderr+r.stdout, "[shard 2/3] testrun-shard: shard 2/3 runs 2 of 4 tests: TestAddition, TestSkipped") {
		t.Errorf("testrun-shard did not say shard 2 runs the planned tests:\n%s", r)
	}
	assertNothingLeft(t, ns)
}

// 6. logs of a kept sharded run prints every shard's output, each line prefixed with its pod, whose name
// carries the shard's index; delete removes the one Job and its pods.
func TestLogsOfAShardedRunShowEveryShard(t *testing.T) {
	ns := namespace(t)
	r := testrun(t, "run", "kept", "-n", ns, "--image", busybox, "--shards", "3", "--keep", "--",
		"sh", "-c", `echo "hello from shard $TESTRUN_SHARD_INDEX"`)
	wantCode(t, r, 0)
	run := ""
	for _, l := range lines(r.stderr) {
		if name, ok := strings.CutPrefix(l, "testrun: created job "); ok {
			run = strings.Fields(name)[0]
		}
	}
	if run == "" {
		t.Fatalf("no run name in the output:\n%s", r)
	}
	logs := testrun(t, "logs", run, "-n", ns)
	wantCode(t, logs, 0)
	for _, i := range []string{"0", "1", "2"} {
		want := regexp.MustCompile(`(?m)^\[` + run + `-` + i + `-[a-z0-9]+/test\] hello from shard ` + i + `$`)
		if !want.MatchString(logs.stdout) {
			t.Errorf("logs lacks shard %s's line, prefixed with its pod (%s):\n%s", i, want, logs)
		}
	}
	wantCode(t, testrun(t, "delete", run, "-n", ns, "--wait"), 0)
	assertNothingLeft(t, ns)
}

// 7. The other verbs see a detached sharded run as one run with a row per shard. Shard 2 fails first in time
// (exit 4), shard 1 later (exit 3): wait waits for every shard and exits with shard 1's code, the failing
// shard of the lowest index, as run does; list shows one row, its shards 3/3 ended; list -o json has a row
// per shard; describe shows each shard's pod, status and exit code, and once fetched, its reports; fetch
// brings every shard's reports into shard-<i>/ and merges their JUnit into junit.xml.
func TestDetachedShardedRunIsOneRunWithARowPerShard(t *testing.T) {
	ns := namespace(t)
	script := `i=$TESTRUN_SHARD_INDEX
printf '<testsuites><testsuite name="s" tests="1"><testcase classname="det" name="case-%s"/></testsuite></testsuites>\n' "$i" > "$TESTRUN_REPORT_DIR/junit.xml"
echo "shard $i ran"
case $i in 1) sleep 4; exit 3;; 2) exit 4;; esac`
	r := testrun(t, "run", "det", "-n", ns, "--image", busybox, "--detach", "--shards", "3", "--", "sh", "-c", script)
	wantCode(t, r, 0)
	run := lastLine(r.stdout)
	if !strings.HasPrefix(run, "det-") {
		t.Fatalf("--detach printed %q as its last line, want the run name", r.stdout)
	}

	r = testrun(t, "wait", run, "-n", ns, "--timeout", "2m")
	wantCode(t, r, 3)
	wantStderr(t, r, "shard 1/3 failed with exit code 3, the failing shard of the lowest index: the command exits with it")

	r = testrun(t, "list", "-n", ns)
	wantCode(t, r, 0)
	rows := lines(r.stdout)
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "NAME") {
		t.Fatalf("list printed %d lines, want the header and one row for the sharded run:\n%s", len(rows), r.stdout)
	}
	if f := strings.Fields(rows[1]); len(f) < 4 || f[0] != run || f[1] != "Failed" || f[2] != "3" || f[3] != "3/3" {
		t.Errorf("list row = %q, want %s Failed 3 3/3 (NAME STATUS EXIT SHARDS)", rows[1], run)
	}

	r = testrun(t, "list", "-n", ns, "-o", "json")
	wantCode(t, r, 0)
	var list struct {
		Items []shardDoc `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("list -o json: %v, %d items, want one:\n%s", err, len(list.Items), r.stdout)
	}
	doc := list.Items[0]
	type row struct {
		Index    int
		Phase    string
		ExitCode int
	}
	var got []row
	for _, s := range doc.Shards {
		got = append(got, row{s.Index, s.Phase, s.ExitCode})
	}
	if diff := cmp.Diff([]row{{0, "Passed", 0}, {1, "Failed", 3}, {2, "Failed", 4}}, got); diff != "" {
		t.Errorf("list -o json's shards (-want +got):\n%s", diff)
	}
	if doc.Phase != "Failed" || doc.ExitCode != 3 || len(doc.Pods) != 3 {
		t.Errorf("list -o json: phase %s, exit code %d, %d pods; want Failed, 3, 3 pods", doc.Phase, doc.ExitCode, len(doc.Pods))
	}

	r = testrun(t, "describe", run, "-n", ns)
	wantCode(t, r, 0)
	wantStdout(t, r, "Status:     Failed", "Exit Code:  3", "Shards:     3 of 3 ended", "INDEX  POD")
	for i, want := range []string{`Passed +0 `, `Failed +3 `, `Failed +4 `} {
		re := regexp.MustCompile(`(?m)^  ` + string(rune('0'+i)) + ` +` + run + `-` + string(rune('0'+i)) + `-[a-z0-9]+ +\S+ +` + want)
		if !re.MatchString(r.stdout) {
			t.Errorf("describe lacks shard %d's row (%s):\n%s", i, re, r.stdout)
		}
	}

	out := filepath.Join(t.TempDir(), "out")
	r = testrun(t, "fetch", run, "-n", ns, "--to", out)
	wantCode(t, r, 0)
	for i := range 3 {
		shard := "shard-" + string(rune('0'+i))
		if diff := cmp.Diff([]string{"det/case-" + string(rune('0'+i))}, junitCases(t, filepath.Join(out, shard, "junit.xml"))); diff != "" {
			t.Errorf("%s's report (-want +got):\n%s", shard, diff)
		}
	}
	if diff := cmp.Diff([]string{"det/case-0", "det/case-1", "det/case-2"}, junitCases(t, filepath.Join(out, "junit.xml"))); diff != "" {
		t.Errorf("the merged report (-want +got):\n%s\n%s", diff, r)
	}

	// fetch released every shard: each pod records what was fetched, and describe shows it in its row.
	waitFor(t, 60*time.Second, "describe to show every shard's fetched reports", func(context.Context) (bool, error) {
		r = testrun(t, "describe", run, "-n", ns)
		return strings.Count(r.stdout, "1 file(s)") == 3, nil
	})
	wantStdout(t, r, "1 tests, 0 failed")
	wantCode(t, testrun(t, "delete", run, "-n", ns, "--wait"), 0)
	assertNothingLeft(t, ns)
}
