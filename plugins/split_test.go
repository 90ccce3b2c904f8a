package plugins_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
	"github.com/kubectl-testrun/kubectl-testrun/plugins"
)

// The shell definition's runner, run locally by busybox sh (the shell of its sample image) over seven
// scripts: in 3 shards every script runs exactly once, in the same shards on every run (round robin in
// name order), and the plan of TESTRUN_SHARD_TESTS (from --balance-from) decides for the scripts it names.
func TestShellDefinitionRunsItsShare(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("this test runs the runner with busybox sh, the shell of the shell plugin's sample image: install busybox (%v)", err)
	}
	data, err := fs.ReadFile(plugins.FS, "shell.yaml")
	if err != nil {
		t.Fatal(err)
	}
	def, err := definition.Parse("shell.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if def.Spec.Sharding == nil || def.Spec.Sharding.Split != definition.SplitEnv {
		t.Fatalf("the shell definition must say it splits by env, got %+v", def.Spec.Sharding)
	}
	dir := t.TempDir()
	names := []string{"a", "b", "c", "d", "e", "f", "g"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n+".sh"), []byte("exit 0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// run returns the scripts shard index of count ran, as its output names them.
	run := func(t *testing.T, env ...string) []string {
		t.Helper()
		// command is sh -c SCRIPT NAME; the args follow.
		cmd := exec.Command(busybox, append([]string{"sh", "-c", def.Spec.Command[2], def.Spec.Command[3]}, dir)...)
		reports := t.TempDir()
		cmd.Env = append([]string{"TMPDIR=" + t.TempDir(), "TESTRUN_REPORT_DIR=" + reports, "PATH=" + os.Getenv("PATH")}, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the runner failed: %v\n%s", err, out)
		}
		var ran []string
		for _, line := range strings.Split(string(out), "\n") {
			if n, ok := strings.CutPrefix(line, "--- PASS: "); ok {
				ran = append(ran, strings.Fields(n)[0])
			}
		}
		if _, err := os.Stat(filepath.Join(reports, "junit.xml")); err != nil {
			t.Errorf("the shard wrote no report: %v", err)
		}
		return ran
	}
	shards := func(t *testing.T, count int, env ...string) [][]string {
		got := make([][]string, count)
		for i := range count {
			got[i] = run(t, append([]string{"TESTRUN_SHARD_INDEX=" + strconv.Itoa(i), "TESTRUN_SHARD_COUNT=" + strconv.Itoa(count)}, env...)...)
		}
		return got
	}
	t.Run("unsharded runs all", func(t *testing.T) {
		if diff := cmp.Diff(names, run(t)); diff != "" {
			t.Errorf("scripts run (-want +got):\n%s", diff)
		}
	})
	t.Run("3 shards, round robin", func(t *testing.T) {
		want := [][]string{{"a", "d", "g"}, {"b", "e"}, {"c", "f"}}
		if diff := cmp.Diff(want, shards(t, 3)); diff != "" {
			t.Errorf("scripts run by shard (-want +got):\n%s", diff)
		}
	})
	t.Run("more shards than scripts", func(t *testing.T) {
		got := shards(t, 9)
		if got[8] != nil || got[7] != nil {
			t.Errorf("shards 7 and 8 of 9 have no script of 7 and must pass empty, got %v", got)
		}
	})
	t.Run("a plan decides for the scripts it names", func(t *testing.T) {
		plan := "TESTRUN_SHARD_TESTS=2 a\n2 b\n0 c\n1 g"
		got := shards(t, 3, plan)
		want := [][]string{{"c", "d"}, {"e", "g"}, {"a", "b", "f"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("scripts run by shard (-want +got):\n%s", diff)
		}
		all := slices.Concat(got...)
		slices.Sort(all)
		if diff := cmp.Diff(names, all); diff != "" {
			t.Errorf("every script runs exactly once (-want +got):\n%s", diff)
		}
	})
}

// The jest definition's launcher, run locally by node against a stand-in for the project's jest that prints
// the words it was given: unsharded it passes the args on as they are; sharded it adds jest's --shard, which
// counts from 1, and --passWithNoTests, so that a shard left with no test file passes.
func TestJestDefinitionAddsItsShard(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("this test runs the jest definition's launcher with node, which its image runs it with: install nodejs (%v)", err)
	}
	def := parsePlugin(t, "jest.yaml")
	if def.Spec.Sharding == nil || def.Spec.Sharding.Split != definition.SplitEnv {
		t.Fatalf("the jest definition must say it splits by env, got %+v", def.Spec.Sharding)
	}
	if def.Spec.Command[0] != "node" || def.Spec.Command[1] != "-e" {
		t.Fatalf("the jest definition's command is not node -e SCRIPT: %q", def.Spec.Command)
	}
	project := t.TempDir()
	bin := filepath.Join(project, "node_modules", ".bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	fake := "#!/usr/bin/env node\nconsole.log(JSON.stringify(process.argv.slice(2)));\n"
	if err := os.WriteFile(filepath.Join(bin, "jest"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, env ...string) []string {
		t.Helper()
		cmd := exec.Command(node, slices.Concat(def.Spec.Command[1:], []string{"tests/api"})...)
		cmd.Dir = project
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the launcher failed: %v\n%s", err, out)
		}
		var args []string
		if err := json.Unmarshal(out, &args); err != nil {
			t.Fatalf("the stand-in jest printed %q: %v", out, err)
		}
		return args
	}
	given := slices.Concat(def.Spec.Command[4:], []string{"tests/api"})
	if def.Spec.Command[3] != "--" {
		t.Fatalf("the script must be followed by -- (node takes the words after it as its own options): %q", def.Spec.Command)
	}
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{name: "unsharded", want: given},
		{name: "one shard", env: []string{"TESTRUN_SHARD_INDEX=0", "TESTRUN_SHARD_COUNT=1"}, want: given},
		{name: "the first of 3", env: []string{"TESTRUN_SHARD_INDEX=0", "TESTRUN_SHARD_COUNT=3"}, want: slices.Concat(given, []string{"--shard=1/3", "--passWithNoTests"})},
		{name: "the last of 3", env: []string{"TESTRUN_SHARD_INDEX=2", "TESTRUN_SHARD_COUNT=3"}, want: slices.Concat(given, []string{"--shard=3/3", "--passWithNoTests"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, run(t, tc.env...)); diff != "" {
				t.Errorf("jest's words (-want +got):\n%s", diff)
			}
		})
	}
}

// The go-test and ginkgo definitions put testrun-shard before their command in a sharded run, and only then.
func TestGoDefinitionsWrapTheirCommandWhenSharded(t *testing.T) {
	for file, wrap := range map[string][]string{
		"go-test.yaml": {"testrun-shard", "go", "$(GO_TEST_BINARY)", "--"},
		"ginkgo.yaml":  {"testrun-shard", "ginkgo", "--"},
	} {
		def := parsePlugin(t, file)
		want := &definition.Sharding{Split: definition.SplitWrap, Wrap: wrap}
		if diff := cmp.Diff(want, def.Spec.Sharding); diff != "" {
			t.Errorf("%s: spec.sharding (-want +got):\n%s", file, diff)
		}
	}
}

func parsePlugin(t *testing.T, file string) *definition.Definition {
	t.Helper()
	data, err := fs.ReadFile(plugins.FS, file)
	if err != nil {
		t.Fatal(err)
	}
	def, err := definition.Parse(file, data)
	if err != nil {
		t.Fatal(err)
	}
	return def
}
