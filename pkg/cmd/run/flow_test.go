package run_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

const flowDoc = `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: integration}
spec:
  config:
  - {name: WINS, type: env, value: flow}
  - {name: FLOW, type: env, value: flow}
  steps:
  - {name: setup, definition: {name: api}, args: [tests/setup], timeout: 5m}
  - {name: smoke, definition: {label: suite=smoke}, dependsOn: [setup], env: [{name: LEVEL, value: step}]}
  onExit:
  - {name: teardown, definition: {name: api}, condition: always}
`

// A flow's dry run prints the Job of every run of every step, each named after its step and labelled with
// the flow and the step; the step's values win over the definition's, the flow's configuration reaches
// every run below the definition's, and --timeout, which bounds the whole flow, leaves the steps' own.
func TestRunFlowDryRun(t *testing.T) {
	inRepository(t, map[string]string{".testrun/api.yaml": apiDefinition, ".testrun/integration.yaml": flowDoc})
	for _, args := range [][]string{{"-f", ".testrun/integration.yaml"}, {"--flow", "integration"}} {
		out, err := execute(t, append([]string{"run", "-n", "ci", "--dry-run=client", "-o", "yaml", "--timeout", "2h"}, args...)...)
		if err != nil {
			t.Fatalf("run %v: %v", args, err)
		}
		var list struct{ Items []batchv1.Job }
		if err := yaml.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("output is not a List: %v\n%s", err, out)
		}
		type view struct {
			Step, Flow, Prefix string
			Args               []string
			Deadline           int64
			Level, Wins, FlowV string
		}
		var got []view
		for _, j := range list.Items {
			c := j.Spec.Template.Spec.Containers[0]
			env := envMap(c.Env)
			got = append(got, view{j.Labels["testrun.dev/step"], j.Labels["testrun.dev/flow"], j.Name[:strings.LastIndex(j.Name, "-")],
				c.Args, *j.Spec.ActiveDeadlineSeconds, env["LEVEL"], env["WINS"], env["FLOW"]})
		}
		// The deadline is the run's timeout plus --hold plus a minute: 5m or the definition's 20m, never 2h.
		want := []view{
			{"setup", "integration", "setup", []string{"tests/setup"}, 5*60 + 600 + 60, "debug", "definition", "flow"},
			{"smoke", "integration", "smoke", []string{"tests"}, 20*60 + 600 + 60, "step", "definition", "flow"},
			{"teardown", "integration", "teardown", []string{"tests"}, 20*60 + 600 + 60, "debug", "definition", "flow"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("run %v: jobs (-want +got):\n%s", args, diff)
		}
	}
}

// What a flow cannot take is refused with 125 before any cluster is contacted.
func TestRunFlowRejectsBadInput(t *testing.T) {
	inRepository(t, map[string]string{".testrun/api.yaml": apiDefinition, "flow.yaml": flowDoc})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a name", []string{"run", "x", "-f", "flow.yaml"}, "a flow names its runs after its steps: remove NAME (x)"},
		{"a command", []string{"run", "-f", "flow.yaml", "--", "pytest"}, "a flow takes no command after --"},
		{"a selector too", []string{"run", "-f", "flow.yaml", "--selector", "a=b"}, "give the flow alone"},
		{"detach", []string{"run", "-f", "flow.yaml", "--detach"}, "--detach does not apply to a flow"},
		{"negative bound", []string{"run", "-f", "flow.yaml", "--max-parallel", "-1"}, "--max-parallel -1 is negative"},
		{"an unknown flow", []string{"run", "--flow", "nope"}, "--flow: no flow named \"nope\": .testrun/ holds no flow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := execute(t, tc.args...)
			var e *exitcode.Error
			if !errors.As(err, &e) || e.Code != exitcode.CannotRun || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want exit code 125 and %q", err, tc.want)
			}
		})
	}
}
