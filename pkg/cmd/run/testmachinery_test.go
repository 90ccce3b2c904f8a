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

const tmTestrun = `apiVersion: testmachinery.sapcloud.io/v1beta1
kind: Testrun
metadata: {name: it, namespace: default}
spec:
  testflow:
  - {name: tests, definition: {name: check}}
`

const tmCheck = `kind: TestDefinition
metadata: {name: check}
spec:
  owner: dev@example.com
  command: [sh, -c]
  args: ["true"]
  image: busybox
`

// run -f of a Testrun runs it as a flow: its dry run prints the Job of its step, in -n's namespace (not the
// Testrun's), the step's TestDefinition read from the .test-defs/ next to the Testrun.
func TestRunTestrunDryRun(t *testing.T) {
	inRepository(t, map[string]string{"testrun.yaml": tmTestrun, ".test-defs/check.yaml": tmCheck})
	out, err := execute(t, "run", "-f", "testrun.yaml", "-n", "ci", "--dry-run=client", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	var j batchv1.Job
	if err := yaml.Unmarshal([]byte(out), &j); err != nil || j.Kind != "Job" {
		t.Fatalf("output is not a Job: %v\n%s", err, out)
	}
	c := j.Spec.Template.Spec.Containers[0]
	got := []string{j.Namespace, j.Labels["testrun.dev/flow"], j.Labels["testrun.dev/step"], c.Image, c.WorkingDir, envMap(c.Env)["TM_TESTRUN_ID"], envMap(c.Env)["TM_PHASE"]}
	if diff := cmp.Diff([]string{"ci", "it", "tests", "busybox", "/src", "it", "Running"}, got); diff != "" {
		t.Errorf("namespace, flow, step, image, workdir, TM_TESTRUN_ID, TM_PHASE (-want +got):\n%s", diff)
	}
}

// What is TestMachinery's but cannot run here is refused with 125 before any cluster is contacted.
func TestRunTestrunRejects(t *testing.T) {
	inRepository(t, map[string]string{
		"testrun.yaml":          tmTestrun,
		".test-defs/check.yaml": tmCheck,
		"list.yaml":             strings.Replace(tmTestrun, "kind: Testrun", "kind: TestrunList", 1),
		"v1alpha1.yaml":         strings.Replace(tmTestrun, "v1beta1", "v1alpha1", 1),
		"missing.yaml":          strings.Replace(tmTestrun, "name: check", "name: nope", 1),
		"def.yaml":              "apiVersion: testmachinery.sapcloud.io/v1beta1\n" + tmCheck,
	})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a definition too", []string{"-f", "testrun.yaml", "--definition", "x"}, "a Testrun runs the TestDefinitions its steps name: give it alone"},
		{"a TestDefinition", []string{"-f", "def.yaml"}, "a TestMachinery TestDefinition runs as a step of a Testrun"},
		{"another kind", []string{"-f", "list.yaml"}, `line 2: kind: kind "TestrunList" is not expected here: use Testrun`},
		{"another version", []string{"-f", "v1alpha1.yaml"}, `line 1: apiVersion: "testmachinery.sapcloud.io/v1alpha1" is not supported`},
		{"an unknown TestDefinition", []string{"-f", "missing.yaml"}, `line 6: spec.testflow[0] (step "tests"): no TestDefinition named "nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := execute(t, append([]string{"run", "--dry-run=client"}, tc.args...)...)
			var e *exitcode.Error
			if !errors.As(err, &e) || e.Code != exitcode.CannotRun || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want exit code 125 and %q", err, tc.want)
			}
		})
	}
}
