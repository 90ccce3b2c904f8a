package run_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// execute runs `kubectl testrun ARGS` in-process with an empty kubeconfig and returns stdout and the error.
func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	t.Setenv("KUBECONFIG", t.TempDir()+"/none")
	var out, errOut bytes.Buffer
	root := cmd.NewCmdTestrun(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

// Bad input is refused before anything is sent to a cluster, with exit code 125 and a message naming the flag.
func TestRunRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no image", []string{"run", "smoke"}, "--image"},
		{"bad name", []string{"run", "Smoke_Test", "--image", "x:1"}, "NAME"},
		{"two names", []string{"run", "a", "b", "--image", "x:1"}, "exactly one NAME"},
		{"env without =", []string{"run", "smoke", "--image", "x:1", "--env", "FOO"}, `--env "FOO" is not NAME=VALUE`},
		{"env-from kind", []string{"run", "smoke", "--image", "x:1", "--env-from", "pod/x"}, `kind "pod" is not secret or configmap`},
		{"env-from without name", []string{"run", "smoke", "--image", "x:1", "--env-from", "secret"}, "--env-from"},
		{"requests quantity", []string{"run", "smoke", "--image", "x:1", "--requests", "cpu=lots"}, `"lots" is not a quantity`},
		{"limits shape", []string{"run", "smoke", "--image", "x:1", "--limits", "memory"}, "--limits"},
		{"node selector", []string{"run", "smoke", "--image", "x:1", "--node-selector", "disk"}, "--node-selector"},
		{"label value", []string{"run", "smoke", "--image", "x:1", "--label", "team=a/b"}, "--label"},
		{"reserved label", []string{"run", "smoke", "--image", "x:1", "--label", "testrun.dev/name=x"}, "--label"},
		{"output", []string{"run", "smoke", "--image", "x:1", "-o", "wide"}, `--output "wide"`},
		{"color", []string{"run", "smoke", "--image", "x:1", "--color", "sometimes"}, "--color"},
		{"pull policy", []string{"run", "smoke", "--image", "x:1", "--image-pull-policy", "Sometimes"}, "--image-pull-policy"},
		{"report dir", []string{"run", "smoke", "--image", "x:1", "--report-dir", "reports"}, "--report-dir"},
		{"timeout", []string{"run", "smoke", "--image", "x:1", "--timeout", "-1s"}, "--timeout"},
		{"unknown flag", []string{"run", "smoke", "--image", "x:1", "--imag", "y"}, "unknown flag: --imag"},
		{"bad duration", []string{"run", "smoke", "--image", "x:1", "--timeout", "soon"}, "--timeout"},
		{"dry run value", []string{"run", "smoke", "--image", "x:1", "--dry-run=maybe"}, "dry-run"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := execute(t, tc.args...)
			if err == nil {
				t.Fatalf("kubectl testrun %s succeeded, want an error naming %q", strings.Join(tc.args, " "), tc.want)
			}
			if code := exitcode.Code(context.Background(), err); code != exitcode.CannotRun {
				t.Errorf("exit code = %d, want 125 (bad input); error: %v", code, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// --dry-run=client prints the Job that would be created, without any cluster.
func TestRunDryRunClientPrintsTheJob(t *testing.T) {
	out, err := execute(t, "run", "smoke", "-n", "ci", "--image", "app-tests:1.2", "--env", "A=b", "--env-from", "configmap/cfg",
		"--requests", "cpu=100m,memory=64Mi", "--limits", "memory=1Gi", "--node-selector", "pool=tests", "--label", "team=qa",
		"--service-account", "tester", "--timeout", "20m", "--dry-run=client", "-o", "yaml", "--", "npm", "test")
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(out), &job); err != nil {
		t.Fatalf("output is not a Job: %v\n%s", err, out)
	}
	pod := job.Spec.Template.Spec
	test := pod.Containers[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"namespace", job.Namespace, "ci"},
		{"name prefix", strings.HasPrefix(job.Name, "smoke-") && len(job.Name) == len("smoke-")+5, true},
		{"image", test.Image, "app-tests:1.2"},
		{"command", strings.Join(test.Command, " "), "npm test"},
		{"env A", envValue(test.Env, "A"), "b"},
		{"env-from", test.EnvFrom[0].ConfigMapRef.Name, "cfg"},
		{"cpu request", test.Resources.Requests.Cpu().String(), "100m"},
		{"memory limit", test.Resources.Limits.Memory().String(), "1Gi"},
		{"node selector", pod.NodeSelector["pool"], "tests"},
		{"label", job.Labels["team"], "qa"},
		{"pod label", job.Spec.Template.Labels["team"], "qa"},
		{"service account", pod.ServiceAccountName, "tester"},
		{"deadline", *job.Spec.ActiveDeadlineSeconds, int64(20*60 + 10*60 + 60)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
