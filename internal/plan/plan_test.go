package plan

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
)

func ptr[T any](v T) *T { return &v }

// pytest is a definition that sets every value a flag may override.
func pytest() *definition.Definition {
	return &definition.Definition{
		Metadata: definition.Metadata{Name: "pytest"},
		Spec: definition.Spec{
			Image:      "python:3.13",
			Command:    []string{"pytest"},
			Args:       []string{"-q", "tests/"},
			WorkingDir: "/src",
			Env:        []definition.EnvVar{{Name: "A", Value: "def"}, {Name: "B", Value: "$(A)-def"}},
			Reports:    definition.Reports{Dir: "/out"},
			Resources:  definition.Resources{Requests: map[string]string{"cpu": "1", "memory": "1Gi"}},
			Timeout:    "45m",
			Labels:     map[string]string{"suite": "unit", "tier": "fast"},
			Requires:   "pytest",
		},
	}
}

// The precedence rules: a value the user gave wins over the definition's, a value not given leaves the
// definition's standing, and a plain run takes the flags and the defaults.
func TestPlanPrecedence(t *testing.T) {
	type view struct {
		Image, WorkingDir, ReportDir string
		Command, Args                []string
		Timeout                      time.Duration
		Env                          map[string]string
		EnvOrder                     []string
		Labels                       map[string]string
		Requests                     corev1.ResourceList
	}
	see := func(s runspec.Spec) view {
		v := view{Image: s.Image, WorkingDir: s.WorkingDir, ReportDir: s.ReportDir, Command: s.Command, Args: s.Args,
			Timeout: s.Timeout, Labels: s.Labels, Requests: s.Resources.Requests, Env: map[string]string{}}
		for _, e := range s.Env {
			v.Env[e.Name] = e.Value
			v.EnvOrder = append(v.EnvOrder, e.Name)
		}
		return v
	}
	tests := []struct {
		name string
		def  *definition.Definition
		f    Flags
		want view
	}{{
		name: "the definition alone",
		def:  pytest(),
		want: view{Image: "python:3.13", WorkingDir: "/src", ReportDir: "/out", Command: []string{"pytest"}, Args: []string{"-q", "tests/"},
			Timeout: 45 * time.Minute, Env: map[string]string{"A": "def", "B": "$(A)-def"}, EnvOrder: []string{"A", "B"},
			Labels:   map[string]string{definition.LabelDefinition: "pytest", "suite": "unit", "tier": "fast"},
			Requests: corev1.ResourceList{"cpu": resource.MustParse("1"), "memory": resource.MustParse("1Gi")}},
	}, {
		name: "every flag given wins",
		def:  pytest(),
		f: Flags{Image: ptr("python:3.14"), WorkingDir: ptr("/app"), Timeout: ptr(time.Minute), ReportDirs: []string{"/r", "/cov"},
			Command: []string{"-k", "smoke"}, Env: []corev1.EnvVar{{Name: "A", Value: "flag"}, {Name: "C", Value: "new"}},
			Labels: map[string]string{"tier": "slow"}, Requests: corev1.ResourceList{"cpu": resource.MustParse("2")}},
		want: view{Image: "python:3.14", WorkingDir: "/app", ReportDir: "/r", Command: []string{"pytest"}, Args: []string{"-k", "smoke"},
			// A keeps its place, so that B's $(A) still sees it; C is new and comes last.
			Timeout: time.Minute, Env: map[string]string{"A": "flag", "B": "$(A)-def", "C": "new"}, EnvOrder: []string{"A", "B", "C"},
			Labels:   map[string]string{definition.LabelDefinition: "pytest", "suite": "unit", "tier": "slow"},
			Requests: corev1.ResourceList{"cpu": resource.MustParse("2"), "memory": resource.MustParse("1Gi")}},
	}, {
		name: "a flag given empty still wins",
		def:  pytest(),
		f:    Flags{Image: ptr("")},
		want: view{Image: "", WorkingDir: "/src", ReportDir: "/out", Command: []string{"pytest"}, Args: []string{"-q", "tests/"},
			Timeout: 45 * time.Minute, Env: map[string]string{"A": "def", "B": "$(A)-def"}, EnvOrder: []string{"A", "B"},
			Labels:   map[string]string{definition.LabelDefinition: "pytest", "suite": "unit", "tier": "fast"},
			Requests: corev1.ResourceList{"cpu": resource.MustParse("1"), "memory": resource.MustParse("1Gi")}},
	}, {
		name: "a plain run takes the flags and the defaults",
		f:    Flags{Image: ptr("busybox:1.37"), Command: []string{"sh", "-c", "true"}, Labels: map[string]string{"a": "b"}},
		want: view{Image: "busybox:1.37", ReportDir: runspec.DefaultReportDir, Command: []string{"sh", "-c", "true"},
			Timeout: runspec.DefaultTimeout, Env: map[string]string{}, Labels: map[string]string{"a": "b"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(Input{Definition: tc.def, Name: "x-abcde", Namespace: "ci", Flags: tc.f})
			if diff := cmp.Diff(tc.want, see(got.Spec)); diff != "" {
				t.Errorf("Plan() spec (-want +got):\n%s", diff)
			}
			if got.Spec.Name != "x-abcde" || got.Spec.Namespace != "ci" {
				t.Errorf("Plan() named the run %s/%s, want ci/x-abcde", got.Spec.Namespace, got.Spec.Name)
			}
			if tc.def != nil && (got.Definition != "pytest" || got.Requires != "pytest") {
				t.Errorf("Plan() = definition %q requiring %q, want pytest and pytest", got.Definition, got.Requires)
			}
		})
	}
}

// Configuration merges the global entries, --config and the definition's own, in increasing precedence, and
// --env beats them all.
func TestPlanConfigurationPrecedence(t *testing.T) {
	entry := func(name, value string) definition.Config {
		return definition.Config{Name: name, Type: definition.ConfigEnv, Value: &value}
	}
	def := pytest()
	def.Spec.Config = []definition.Config{entry("LEVEL", "definition")}
	got := Plan(Input{Definition: def, Name: "x", Global: []definition.Config{entry("LEVEL", "global"), entry("REGION", "global")},
		Flags: Flags{Config: []definition.Config{entry("LEVEL", "flag"), entry("REGION", "flag"), entry("TOKEN", "flag")},
			Env: []corev1.EnvVar{{Name: "TOKEN", Value: "env"}}}})
	env := map[string]string{}
	for _, e := range got.Spec.Env {
		env[e.Name] = e.Value
	}
	want := map[string]string{"A": "def", "B": "$(A)-def", "LEVEL": "definition", "REGION": "flag", "TOKEN": "env"}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
}

// The CI's commit and ref come from the first CI variable that is set.
func TestPlanReadsTheCIGitVariables(t *testing.T) {
	env := map[string]string{"CI_COMMIT_SHA": "abc123", "GIT_BRANCH": "main", "GIT_COMMIT": "ignored"}
	got := Plan(Input{Name: "x", Getenv: func(k string) string { return env[k] }})
	if got.Spec.GitSHA != "abc123" || got.Spec.GitRef != "main" {
		t.Errorf("git = %q %q, want abc123 main", got.Spec.GitSHA, got.Spec.GitRef)
	}
	if got := Plan(Input{Name: "x"}); got.Spec.GitSHA != "" || got.Spec.GitRef != "" {
		t.Errorf("without Getenv git = %q %q, want none", got.Spec.GitSHA, got.Spec.GitRef)
	}
}

// Each parser names its flag and the expected shape.
func TestParsersNameTheFlag(t *testing.T) {
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"env", func() error { _, err := Env([]string{"FOO"}); return err }, `--env "FOO" is not NAME=VALUE`},
		{"env-from", func() error { _, err := EnvFrom([]string{"pod/x"}); return err }, `--env-from "pod/x": kind "pod" is not secret or configmap`},
		{"config", func() error { _, err := Config([]string{"TOKEN"}); return err }, `--config "TOKEN" is not NAME=VALUE`},
		{"requests", func() error { _, err := ResourceList("--requests", "cpu"); return err }, `--requests "cpu": "cpu" is not NAME=QUANTITY (e.g. cpu=500m,memory=256Mi)`},
		{"labels", func() error { _, err := KeyValues("--label", []string{"a"}); return err }, `--label "a" is not KEY=VALUE`},
		{"toleration", func() error { _, err := Tolerations([]string{"=x"}); return err }, `--toleration "=x" is not KEY[=VALUE][:EFFECT]: give it like dedicated=ci:NoSchedule, dedicated:NoSchedule or dedicated`},
		{"upload", func() error { _, err := Uploads([]string{":/work"}); return err }, `--upload ":/work" names no local file or directory: give it as LOCAL[:POD_PATH], e.g. ./suite:/work`},
		{"upload of /", func() error { _, err := Uploads([]string{"/"}); return err }, `--upload "/" has no base name to place it under /testrun/upload: give its path in the pod as LOCAL:POD_PATH`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
	cfg, err := Config([]string{"A=1", "A=2"})
	if err != nil || len(cfg) != 1 || *cfg[0].Value != "2" {
		t.Errorf("Config(A=1, A=2) = %+v, %v; want one entry A=2", cfg, err)
	}
}

func TestUploads(t *testing.T) {
	t.Chdir(t.TempDir())
	got, err := Uploads([]string{"./suite:/work", "fixtures/data.bin", "a:b", "c:d:/pod/x", "."})
	if err != nil {
		t.Fatal(err)
	}
	want := []runspec.Upload{
		{Local: "./suite", Path: "/work"},
		{Local: "fixtures/data.bin", Path: "/testrun/upload/data.bin"},
		{Local: "a:b", Path: "/testrun/upload/a:b"},
		{Local: "c:d", Path: "/pod/x"},
		{Local: ".", Path: "/testrun/upload/" + filepath.Base(mustGetwd(t))},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Uploads (-want +got):\n%s", diff)
	}
	if p := Plan(Input{Name: "x", Flags: Flags{Uploads: want}}); !cmp.Equal(p.Spec.Uploads, want) {
		t.Errorf("Plan dropped the uploads: %+v", p.Spec.Uploads)
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// The shard count: --shards wins over the definition's shards; a definition that splits by args gets them
// only when sharded, as one that wraps gets its launcher before the command; one that does not say how it
// splits cannot be sharded.
func TestPlanShards(t *testing.T) {
	withSharding := func(shards int, sh *definition.Sharding) *definition.Definition {
		d := pytest()
		d.Spec.Shards, d.Spec.Sharding = shards, sh
		return d
	}
	byArgs := &definition.Sharding{Split: definition.SplitArgs, Args: []string{"--shard=$(TESTRUN_SHARD_INDEX)"}}
	byWrap := &definition.Sharding{Split: definition.SplitWrap, Wrap: []string{"launch", "--"}}
	pt := []string{"pytest"}
	type view struct {
		Shards, MaxParallel int
		Command, Args       []string
		CannotSplit         bool
	}
	tests := []struct {
		name string
		def  *definition.Definition
		f    Flags
		want view
	}{
		{name: "a plain run unsharded", want: view{}},
		{name: "a plain run with --shards", f: Flags{Shards: ptr(3), MaxParallel: 2}, want: view{Shards: 3, MaxParallel: 2}},
		{name: "the definition's shards", def: withSharding(4, &definition.Sharding{Split: definition.SplitEnv}),
			want: view{Shards: 4, Command: pt, Args: []string{"-q", "tests/"}}},
		{name: "--shards wins", def: withSharding(4, &definition.Sharding{Split: definition.SplitEnv}), f: Flags{Shards: ptr(2)},
			want: view{Shards: 2, Command: pt, Args: []string{"-q", "tests/"}}},
		{name: "--shards 1 unshards", def: withSharding(4, byArgs), f: Flags{Shards: ptr(1)},
			want: view{Shards: 1, Command: pt, Args: []string{"-q", "tests/"}}},
		{name: "split args added when sharded", def: withSharding(0, byArgs), f: Flags{Shards: ptr(3), Command: []string{"tests/api"}},
			want: view{Shards: 3, Command: pt, Args: []string{"tests/api", "--shard=$(TESTRUN_SHARD_INDEX)"}}},
		{name: "split wrap puts its words before the command when sharded", def: withSharding(3, byWrap),
			want: view{Shards: 3, Command: []string{"launch", "--", "pytest"}, Args: []string{"-q", "tests/"}}},
		{name: "split wrap unsharded", def: withSharding(0, byWrap),
			want: view{Command: []string{"pytest"}, Args: []string{"-q", "tests/"}}},
		{name: "a definition that does not split", def: pytest(), f: Flags{Shards: ptr(3)},
			want: view{Shards: 3, Command: pt, Args: []string{"-q", "tests/"}, CannotSplit: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(Input{Definition: tc.def, Name: "x-abcde", Flags: tc.f})
			v := view{Shards: got.Spec.Shards, MaxParallel: got.Spec.MaxParallel, Command: got.Spec.Command, Args: got.Spec.Args, CannotSplit: got.CannotSplit}
			if diff := cmp.Diff(tc.want, v); diff != "" {
				t.Errorf("Plan() (-want +got):\n%s", diff)
			}
		})
	}
}
