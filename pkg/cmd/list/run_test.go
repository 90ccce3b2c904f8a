package list_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/list"
)

// seed returns four runs as the plugin creates them, relative to now so that AGE reads the same whenever the
// test runs (whole hours): in namespace ci a passed and a failed run of suite api and a pending run of suite
// web, and in namespace other a passed run of suite api.
func seed(now time.Time) []runtime.Object {
	ended := func(created time.Time, code int32, reason string, phase corev1.PodPhase, spec runspec.Spec) []runtime.Object {
		start := created.Add(10 * time.Second)
		job, pod := testkit.RunObjects(runspec.BuildJob(spec), created, phase, map[string]corev1.ContainerState{
			runspec.TestContainer:   testkit.Terminated(code, reason, "", start, start.Add(90*time.Second)),
			runspec.HolderContainer: testkit.Terminated(0, "Completed", "", start, start.Add(95*time.Second)),
		})
		return []runtime.Object{job, pod}
	}
	api := map[string]string{"suite": "api"}
	var objs []runtime.Object
	objs = append(objs, ended(now.Add(-3*time.Hour), 0, "Completed", corev1.PodSucceeded,
		runspec.Spec{Name: "api-pass-a1b2c", Namespace: "ci", Image: "api-tests:1", Labels: api})...)
	objs = append(objs, ended(now.Add(-2*time.Hour), 2, "Error", corev1.PodFailed,
		runspec.Spec{Name: "api-fail-d3e4f", Namespace: "ci", Image: "api-tests:2", Labels: api})...)
	pending, _ := testkit.RunObjects(runspec.BuildJob(runspec.Spec{Name: "web-wait-g5h6i", Namespace: "ci", Image: "web-tests:1", Labels: map[string]string{"suite": "web"}}),
		now.Add(-time.Hour), corev1.PodPending, nil)
	objs = append(objs, pending)
	objs = append(objs, ended(now.Add(-4*time.Hour), 0, "Completed", corev1.PodSucceeded,
		runspec.Spec{Name: "api-else-j7k8l", Namespace: "other", Image: "api-tests:1", Labels: api})...)
	return objs
}

// newList returns the constructor of the list command on a fake cluster holding objs, in namespace ci.
func newList(client *fake.Clientset) func(genericiooptions.IOStreams) *cobra.Command {
	return func(streams genericiooptions.IOStreams) *cobra.Command {
		return list.NewCmdList(cmdkit.NewFakeFactory(client, "ci"), streams)
	}
}

func TestListPrintsTheRunsAsATable(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{name: "table", golden: "table.golden.txt"},
		{name: "wide", args: []string{"-o", "wide"}, golden: "wide.golden.txt"},
		{name: "no headers", args: []string{"--no-headers"}, golden: "no-headers.golden.txt"},
		{name: "all namespaces", args: []string{"-A"}, golden: "all-namespaces.golden.txt"},
		{name: "by label", args: []string{"-l", "suite=api", "-A"}, golden: "label.golden.txt"},
		{name: "names", args: []string{"-l", "suite in (api)", "-o", "name"}, golden: "name.golden.txt"},
		{name: "labels", args: []string{"--show-labels"}, golden: "show-labels.golden.txt"},
		{name: "sorted by exit code", args: []string{"-A", "--sort-by", "{.exitCode}"}, golden: "sort-by-exit.golden.txt"},
		{name: "sorted by name", args: []string{"--sort-by", ".metadata.name", "-o", "name"}, golden: "sort-by-name.golden.txt"},
		{name: "jsonpath", args: []string{"-o", `jsonpath={range .items[*]}{.metadata.name}{"\t"}{.phase}{"\t"}{.metadata.labels.suite}{"\n"}{end}`}, golden: "jsonpath.golden.txt"},
		{name: "go-template", args: []string{"-o", `go-template={{range .items}}{{.name}} {{.exitCode}}{{"\n"}}{{end}}`}, golden: "go-template.golden.txt"},
		{name: "--template alone is a go-template", args: []string{"--template", `{{range .items}}{{.name}} {{.exitCode}}{{"\n"}}{{end}}`}, golden: "go-template.golden.txt"},
		{name: "--template with -o go-template", args: []string{"-o", "go-template", "--template", `{{range .items}}{{.name}} {{.exitCode}}{{"\n"}}{{end}}`}, golden: "go-template.golden.txt"},
		{name: "custom columns", args: []string{"-o", "custom-columns=RUN:.metadata.name,SUITE:.metadata.labels.suite,PHASE:.phase,CONTAINERS:.pods[*].containers[*].name"}, golden: "custom-columns.golden.txt"},
		{name: "custom columns without headers", args: []string{"-o", "custom-columns=RUN:.metadata.name", "--no-headers"}, golden: "custom-columns-no-headers.golden.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := testkit.Execute(t, newList(fake.NewClientset(seed(time.Now())...)), tt.args...)
			if err != nil || errOut != "" {
				t.Fatalf("list %v: error %v, stderr %q; want none", tt.args, err, errOut)
			}
			testkit.Golden(t, filepath.Join("testdata", tt.golden), []byte(out))
		})
	}
}

// -o json and -o yaml print a ResultList of the result documents run -o json prints, oldest run first.
func TestListPrintsAResultList(t *testing.T) {
	type item struct {
		Name      string  `json:"name"`
		Namespace string  `json:"namespace"`
		Phase     string  `json:"phase"`
		ExitCode  int     `json:"exitCode"`
		Reason    string  `json:"reason"`
		Duration  float64 `json:"durationSeconds"`
	}
	type resultList struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Items      []item `json:"items"`
	}
	want := resultList{APIVersion: "testrun.dev/v1alpha1", Kind: "ResultList", Items: []item{
		{Name: "api-pass-a1b2c", Namespace: "ci", Phase: "Passed", Duration: 90},
		{Name: "api-fail-d3e4f", Namespace: "ci", Phase: "Failed", ExitCode: 2, Reason: "Error", Duration: 90},
	}}
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			args := []string{"-l", "suite=api", "-o", format}
			out, errOut, err := testkit.Execute(t, newList(fake.NewClientset(seed(time.Now())...)), args...)
			if err != nil || errOut != "" {
				t.Fatalf("list %v: error %v, stderr %q; want none", args, err, errOut)
			}
			var got resultList
			if err := yaml.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("list %v printed what does not parse as a ResultList: %v\n%s", args, err, out)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("list %v (-want +got):\n%s", args, diff)
			}
			if format == "json" && !json.Valid([]byte(out)) {
				t.Errorf("list -o json printed invalid JSON:\n%s", out)
			}
		})
	}
}

// No run is not an error: the table's place says so on stderr, and -o name prints nothing.
func TestListOfNoRunsSaysSoOnStderr(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{name: "namespace", args: []string{"-l", "suite=none"}, wantStderr: "No runs found in namespace \"ci\".\n"},
		{name: "all namespaces", args: []string{"-A", "-l", "suite=none"}, wantStderr: "No runs found in any namespace.\n"},
		{name: "names", args: []string{"-l", "suite=none", "-o", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := testkit.Execute(t, newList(fake.NewClientset(seed(time.Now())...)), tt.args...)
			if err != nil {
				t.Fatalf("list %v: %v, want no error for an empty list", tt.args, err)
			}
			if out != "" {
				t.Errorf("list %v printed %q on stdout, want nothing", tt.args, out)
			}
			if diff := cmp.Diff(tt.wantStderr, errOut); diff != "" {
				t.Errorf("list %v stderr (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// Bad input and an API error exit 125, naming what to fix.
func TestListFailuresExit125(t *testing.T) {
	forbidden := func(c *fake.Clientset) { testkit.Forbid(c, "list", "jobs") }
	tests := []struct {
		name    string
		args    []string
		react   func(*fake.Clientset)
		wantErr []string
	}{
		{name: "unknown format", args: []string{"-o", "xml"}, wantErr: []string{`--output "xml" is not supported`, "wide, json, yaml or name, or a template format followed by =TEMPLATE: ", "jsonpath, ", "custom-columns"}},
		{name: "bad jsonpath", args: []string{"-o", "jsonpath={.items[}"}, wantErr: []string{`--output "jsonpath={.items[}"`}},
		{name: "bad custom columns", args: []string{"-o", "custom-columns=NAME"}, wantErr: []string{`--output "custom-columns=NAME"`}},
		{name: "bad sort field", args: []string{"--sort-by", "{.items["}, wantErr: []string{`--sort-by "{.items["`}},
		{name: "sort while watching", args: []string{"--sort-by", ".name", "-w"}, wantErr: []string{"--sort-by does not go with --watch"}},
		{name: "bad selector", args: []string{"-l", "suite in api"}, wantErr: []string{`-l "suite in api"`}},
		{name: "forbidden", react: forbidden, wantErr: []string{"listing runs", "forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(seed(time.Now())...)
			if tt.react != nil {
				tt.react(client)
			}
			out, _, err := testkit.Execute(t, newList(client), tt.args...)
			testkit.WantBadInput(t, fmt.Sprintf("list %v", tt.args), err, tt.wantErr...)
			if out != "" {
				t.Errorf("list %v printed %q on stdout, want nothing after a failure", tt.args, out)
			}
		})
	}
}
