package run_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// execute runs `kubectl testrun ARGS` in-process with an empty kubeconfig and returns stdout and the error.
func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return executeIn(t, "", args...)
}

// executeIn is execute with stdin.
func executeIn(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("KUBECONFIG", t.TempDir()+"/none")
	var out, errOut bytes.Buffer
	root := cmd.NewCmdTestrun(genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
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
		{"workdir", []string{"run", "smoke", "--image", "x:1", "--workdir", "src"}, `working directory "src" is not an absolute path: pass one such as /src with --workdir`},
		{"toleration shape", []string{"run", "smoke", "--image", "x:1", "--toleration", "=ci:NoSchedule"}, `--toleration "=ci:NoSchedule" is not KEY[=VALUE][:EFFECT]`},
		{"toleration effect", []string{"run", "smoke", "--image", "x:1", "--toleration", "dedicated=ci:NoRun"}, `toleration "dedicated" has the effect "NoRun": use NoSchedule, PreferNoSchedule or NoExecute`},
		{"toleration value", []string{"run", "smoke", "--image", "x:1", "--toleration", "dedicated=a b:NoSchedule"}, `toleration "dedicated" has an invalid value "a b"`},
		{"schedule timeout", []string{"run", "smoke", "--image", "x:1", "--schedule-timeout", "-5s"}, "--schedule-timeout -5s is negative: pass a duration such as 10m"},
		{"unknown flag", []string{"run", "smoke", "--image", "x:1", "--imag", "y"}, "unknown flag: --imag"},
		{"bad duration", []string{"run", "smoke", "--image", "x:1", "--timeout", "soon"}, "--timeout"},
		{"dry run value", []string{"run", "smoke", "--image", "x:1", "--dry-run=maybe"}, "dry-run"},
		{"no name and no definition", []string{"run", "--image", "x:1"}, "the run name is missing: give it as NAME"},
		{"unknown plugin", []string{"run", "--plugin", "nose", "--image", "x:1"}, `--plugin: no shipped plugin named "nose": use one of ginkgo, go-test, jest, kubernetes-e2e, pytest, shell`},
		{"unknown definition", []string{"run", "--definition", "e2e"}, `--definition: no definition named "e2e"`},
		{"two ways to choose", []string{"run", "--plugin", "pytest", "--definition", "x"}, "--definition and --plugin choose the definitions to run in different ways"},
		{"missing file", []string{"run", "-f", "/no/such.yaml"}, `-f "/no/such.yaml"`},
		{"selector syntax", []string{"run", "--selector", "suite in (a"}, `--selector "suite in (a" is not a label selector`},
		{"selector matches nothing", []string{"run", "--selector", "suite=none"}, `--selector "suite=none" matches no definition`},
		{"NAME with several runs", []string{"run", "x", "--selector", "language=go", "--image", "x:1"}, `runs each definition under its own name: remove NAME (x)`},
		{"plugin without image", []string{"run", "--plugin", "pytest"}, `definition "pytest" names no image: pass the test image with --image; the image needs python3 with the pytest module`},
		{"bad value over a definition", []string{"run", "--plugin", "shell", "--image", "x:1", "--timeout", "-1s"}, `definition "shell": timeout -1s is negative`},
		{"config shape", []string{"run", "smoke", "--image", "x:1", "--config", "TOKEN"}, `--config "TOKEN" is not NAME=VALUE`},
		{"config name", []string{"run", "smoke", "--image", "x:1", "--config", "1TOKEN=x"}, `--config "1TOKEN=x": config entry "1TOKEN": name: "1TOKEN" is not a valid entry name`},
		{"timeout and hold overflow", []string{"run", "smoke", "--image", "x:1", "--timeout", "2562047h", "--hold", "2562047h"}, "timeout 2562047h0m0s and hold 2562047h0m0s together are longer than 8760h0m0s, the longest a run may last: lower --timeout or --hold"},
		{"timeout and hold overflow in a dry run", []string{"run", "smoke", "--image", "x:1", "--timeout", "2562047h", "--hold", "2562047h", "--dry-run=client", "-o", "yaml"}, "lower --timeout or --hold"},
		{"grace period overflowing the cleanup budget", []string{"run", "smoke", "--image", "x:1", "--grace-period", "2562047h"}, "grace period 2562047h0m0s is longer than 8760h0m0s: lower --grace-period"},
		{"timeout alone too long", []string{"run", "smoke", "--image", "x:1", "--timeout", "9000h"}, "lower --timeout or --hold"},
		{"dump selector", []string{"run", "smoke", "--image", "x:1", "--dump-selector", "app in (a"}, `--dump-selector "app in (a" is not a label selector`},
		{"negative max bytes", []string{"run", "smoke", "--image", "x:1", "--max-bytes", "-1"}, "--max-bytes -1 is not positive"},
		{"zero max file bytes", []string{"run", "smoke", "--image", "x:1", "--max-file-bytes", "0"}, "--max-file-bytes 0 is not positive"},
		{"zero max files", []string{"run", "smoke", "--image", "x:1", "--max-files", "0"}, "--max-files 0 is not positive"},
		{"max bytes overflowing", []string{"run", "smoke", "--image", "x:1", "--max-bytes", "99999999999999999999"}, "--max-bytes"},
		{"definition file without end", []string{"run", "-f", "/dev/zero"}, `-f: "/dev/zero" holds more than 1048576 bytes, the most a definition or flow file may hold`},
		{"reports in /proc", []string{"run", "smoke", "--image", "x:1", "--reports", "/proc/x"}, `--reports "/proc/x" cannot be created`},
		{"override type", []string{"run", "smoke", "--image", "x:1", "--override-type", "apply", "--overrides", "{}"}, `--override-type "apply" is not supported: use strategic, merge or json`},
		{"overrides not a patch", []string{"run", "smoke", "--image", "x:1", "--overrides", "{spec: [}"}, "--overrides: the patch is neither JSON nor YAML"},
		{"overrides removing the holder", []string{"run", "smoke", "--image", "x:1", "--overrides", `{"spec":{"containers":[{"name":"holder","$patch":"delete"}]}}`}, `--overrides: the patch removes the holder container "holder"`},
		{"overrides removing the holder in a dry run", []string{"run", "smoke", "--image", "x:1", "--override-type", "json", "--overrides", `[{"op":"remove","path":"/spec/containers/1"}]`, "--dry-run=client", "-o", "yaml"}, `--overrides: the patch removes the holder container "holder"`},
		{"overrides over a definition", []string{"run", "--plugin", "shell", "--image", "x:1", "--overrides", `{"spec":{"shareProcessNamespace":false}}`}, `definition "shell": --overrides: the patch turns off shareProcessNamespace`},
		{"reports under a file", []string{"run", "smoke", "--image", "x:1", "--reports", "/dev/null/out"}, `--reports "/dev/null/out" cannot be`},
		{"upload of a missing directory", []string{"run", "smoke", "--image", "x:1", "--upload", "/no/such/suite:/work"}, `--upload "/no/such/suite": no such file or directory: give an existing local file or directory`},
		{"upload to a relative path", []string{"run", "smoke", "--image", "x:1", "--upload", "/etc/hostname:work"}, `--upload "/etc/hostname:work": no such file or directory`},
		{"upload over the reports", []string{"run", "smoke", "--image", "x:1", "--upload", "/etc/hostname:/reports/h"}, `upload "/etc/hostname" goes to "/reports/h", which overlaps the report directory "/reports"`},
		{"upload with detach", []string{"run", "smoke", "--image", "x:1", "--upload", "/etc/hostname", "--detach"}, "--upload needs the client until its files are in the pod, which --detach does not wait for"},
		{"upload limit", []string{"run", "smoke", "--image", "x:1", "--upload", "/etc/hostname", "--upload-max-bytes", "0"}, "--upload-max-bytes 0 is not positive"},
		{"upload too large", []string{"run", "smoke", "--image", "x:1", "--upload", "/etc/hostname", "--upload-max-bytes", "1"}, "raise --upload-max-bytes"},
		{"negative shards", []string{"run", "smoke", "--image", "x:1", "--shards", "-2"}, "shards -2 is out of range: pass --shards between 1 and 100"},
		{"fail fast alone", []string{"run", "smoke", "--image", "x:1", "--fail-fast"}, "--fail-fast stops the other shards of a sharded run: add --shards N"},
		{"balance alone", []string{"run", "smoke", "--image", "x:1", "--balance-from", "/dev/null"}, `--balance-from "/dev/null" splits the tests of a sharded run: add --shards N`},
		{"balance from nothing", []string{"run", "smoke", "--image", "x:1", "--shards", "2", "--balance-from", "/no/such.xml"}, `--balance-from "/no/such.xml"`},
		{"a definition that does not split", []string{"run", "--plugin", "kubernetes-e2e", "--image", "x:1", "--shards", "3"}, `definition "kubernetes-e2e" does not say how its framework splits a suite (spec.sharding)`},
		{"shards of several runs", []string{"run", "--selector", "framework in (go-test, ginkgo)", "--image", "x:1", "--shards", "2"}, `chose 2 runs, and a sharded run is run alone`},
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

// A --reports destination that cannot receive the reports is refused before anything is created, and the
// check leaves nothing behind.
func TestRunChecksTheReportsDestination(t *testing.T) {
	dir := t.TempDir()
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "missing"), dangling); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(filepath.Join(full, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ reports, want string }{
		{dangling, `is a symbolic link to "` + filepath.Join(dir, "missing") + `", which does not exist`},
		{full, "is not empty"},
		{filepath.Join(dir, "full", "old", "x", "y"), ""},
	}
	for _, tc := range tests {
		_, err := execute(t, "run", "smoke", "--image", "x:1", "--dry-run=client", "--reports", tc.reports)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("--reports %s: %v, want it accepted", tc.reports, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("--reports %s: error %v, want one containing %q", tc.reports, err, tc.want)
		case tc.want != "" && exitcode.Code(t.Context(), err) != exitcode.CannotRun:
			t.Errorf("--reports %s: exit code %d, want 125", tc.reports, exitcode.Code(t.Context(), err))
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "full", "old", "x")); !os.IsNotExist(err) {
		t.Errorf("the check left %s behind (Lstat: %v): it must remove what it created", filepath.Join(dir, "full", "old", "x"), err)
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

// --upload shows in the dry run as the init container that receives it and the test container's mounts.
func TestRunDryRunShowsTheUpload(t *testing.T) {
	suite := t.TempDir()
	if err := os.WriteFile(filepath.Join(suite, "run.sh"), []byte("echo ok\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := execute(t, "run", "smoke", "--image", "busybox:1.37", "--upload", suite+":/work", "--upload", filepath.Join(suite, "run.sh"),
		"--helper-image", "helper:1", "--dry-run=client", "-o", "yaml", "--", "sh", "/work/run.sh")
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(out), &job); err != nil {
		t.Fatalf("output is not a Job: %v\n%s", err, out)
	}
	pod := job.Spec.Template.Spec
	if len(pod.InitContainers) != 1 || pod.InitContainers[0].Name != "testrun-upload" || pod.InitContainers[0].Image != "helper:1" {
		t.Fatalf("init containers = %+v, want testrun-upload from the helper image", pod.InitContainers)
	}
	want := []corev1.VolumeMount{
		{Name: "testrun-reports", MountPath: "/reports"},
		{Name: "testrun-upload", MountPath: "/work", SubPath: "0"},
		{Name: "testrun-upload", MountPath: "/testrun/upload/run.sh", SubPath: "1"},
	}
	if diff := cmp.Diff(want, pod.Containers[0].VolumeMounts); diff != "" {
		t.Errorf("test container mounts (-want +got):\n%s", diff)
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

// inRepository makes a working directory holding files (e.g. .testrun/api.yaml) and enters it for the test,
// with no CI variables in the environment.
func inRepository(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	for _, v := range []string{"GITHUB_SHA", "GITHUB_REF", "CI_COMMIT_SHA", "CI_COMMIT_REF_NAME", "BUILD_SOURCEVERSION", "BUILD_SOURCEBRANCH", "GIT_COMMIT", "GIT_BRANCH"} {
		t.Setenv(v, "")
	}
}

// dryRunJob runs `run ARGS --dry-run=client -o yaml` and returns the Job it prints.
func dryRunJob(t *testing.T, stdin string, args ...string) *batchv1.Job {
	t.Helper()
	// The flags go before the arguments, which may end with -- and a command.
	out, err := executeIn(t, stdin, append([]string{args[0], "-n", "ci", "--dry-run=client", "-o", "yaml"}, args[1:]...)...)
	if err != nil {
		t.Fatalf("kubectl testrun %s: %v", strings.Join(args, " "), err)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(out), &job); err != nil {
		t.Fatalf("output is not a Job: %v\n%s", err, out)
	}
	return &job
}

// envMap returns the literal environment of a container, with "<from NAME/KEY>" for references.
func envMap(env []corev1.EnvVar) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		switch {
		case e.ValueFrom == nil:
			m[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			m[e.Name] = "<secret " + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key + ">"
		case e.ValueFrom.ConfigMapKeyRef != nil:
			m[e.Name] = "<configmap " + e.ValueFrom.ConfigMapKeyRef.Name + "/" + e.ValueFrom.ConfigMapKeyRef.Key + ">"
		default:
			m[e.Name] = "<field>"
		}
	}
	return m
}

const apiDefinition = `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: api
  labels: {suite: smoke}
spec:
  image: api-tests:1
  command: [python3, -m, pytest]
  args: [tests]
  workingDir: /src
  env:
  - {name: API_URL, value: http://api}
  - {name: LEVEL, value: debug}
  config:
  - {name: TOKEN, type: env, valueFrom: {secretKeyRef: {name: creds, key: token}}}
  - {name: kubeconfig, type: file, path: /etc/kube/config, valueFrom: {configMapKeyRef: {name: clusters, key: staging}}}
  - {name: settings, type: file, path: /etc/app/settings.json, value: '{"retries": 3}'}
  - {name: WINS, type: env, value: definition}
  reports: {dir: /out}
  resources:
    requests: {cpu: 500m, memory: 256Mi}
  timeout: 20m
  labels: {team: api}
`

const globalConfig = `apiVersion: testrun.dev/v1alpha1
kind: TestConfig
spec:
  config:
  - {name: GLOBAL, type: env, value: global}
  - {name: WINS, type: env, value: global}
  - {name: RUN, type: env, value: global}
`

// A definition fills the Job; the flags given override it; configuration merges global, run and definition.
func TestRunDefinitionDryRun(t *testing.T) {
	inRepository(t, map[string]string{".testrun/api.yaml": apiDefinition, ".testrun/config.yaml": globalConfig, "api.yaml": apiDefinition})
	tests := []struct {
		name  string
		stdin string
		args  []string
		check func(t *testing.T, job *batchv1.Job)
	}{
		{
			name: "the definition as it is",
			args: []string{"run", "--definition", "api"},
			check: func(t *testing.T, job *batchv1.Job) {
				test := job.Spec.Template.Spec.Containers[0]
				checks := []struct {
					what      string
					got, want any
				}{
					{"name", strings.HasPrefix(job.Name, "api-"), true},
					{"image", test.Image, "api-tests:1"},
					{"command", test.Command, []string{"python3", "-m", "pytest"}},
					{"args", test.Args, []string{"tests"}},
					{"working dir", test.WorkingDir, "/src"},
					{"deadline", *job.Spec.ActiveDeadlineSeconds, int64(20*60 + 10*60 + 60)},
					{"report mount", test.VolumeMounts[0].MountPath, "/out"},
					{"cpu request", test.Resources.Requests.Cpu().String(), "500m"},
					{"labels", job.Labels["team"] + "," + job.Labels["testrun.dev/definition"], "api,api"},
					{"annotation", job.Spec.Template.Annotations["testrun.dev/config.settings"], `{"retries": 3}`},
					{"volumes", len(job.Spec.Template.Spec.Volumes), 4},
				}
				for _, c := range checks {
					if diff := cmp.Diff(c.want, c.got); diff != "" {
						t.Errorf("%s (-want +got):\n%s", c.what, diff)
					}
				}
				wantEnv := map[string]string{
					"TESTRUN_NAME": job.Name, "TESTRUN_NAMESPACE": "<field>", "TESTRUN_REPORT_DIR": "/out",
					"API_URL": "http://api", "LEVEL": "debug", "GLOBAL": "global", "RUN": "global", "WINS": "definition",
					"TOKEN": "<secret creds/token>", "KUBECONFIG": "/etc/kube/config", "SETTINGS": "/etc/app/settings.json",
				}
				if diff := cmp.Diff(wantEnv, envMap(test.Env)); diff != "" {
					t.Errorf("environment (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "flags override the definition",
			args: []string{"run", "smoke", "-f", "api.yaml", "--image", "api-tests:2", "--timeout", "5m", "--report-dir", "/reports", "--workdir", "/src/api",
				"--env", "LEVEL=info", "--label", "team=qa", "--requests", "memory=1Gi", "--config", "RUN=run", "--config", "WINS=run",
				"--", "tests/api", "-k", "login"},
			check: func(t *testing.T, job *batchv1.Job) {
				test := job.Spec.Template.Spec.Containers[0]
				checks := []struct {
					what      string
					got, want any
				}{
					{"name from NAME", strings.HasPrefix(job.Name, "smoke-"), true},
					{"image", test.Image, "api-tests:2"},
					{"the command stays", test.Command, []string{"python3", "-m", "pytest"}},
					{"the words after -- replace the args", test.Args, []string{"tests/api", "-k", "login"}},
					{"working dir", test.WorkingDir, "/src/api"},
					{"deadline", *job.Spec.ActiveDeadlineSeconds, int64(5*60 + 10*60 + 60)},
					{"report mount", test.VolumeMounts[0].MountPath, "/reports"},
					{"requests merge", test.Resources.Requests, corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")}},
					{"label", job.Labels["team"], "qa"},
					{"--env replaces in place", test.Env[4], corev1.EnvVar{Name: "LEVEL", Value: "info"}},
				}
				for _, c := range checks {
					if diff := cmp.Diff(c.want, c.got); diff != "" {
						t.Errorf("%s (-want +got):\n%s", c.what, diff)
					}
				}
				env := envMap(test.Env)
				for k, v := range map[string]string{"RUN": "run", "WINS": "definition", "GLOBAL": "global"} {
					if env[k] != v {
						t.Errorf("%s = %q, want %q (definition over --config over .testrun/config.yaml)", k, env[k], v)
					}
				}
			},
		},
		{
			name:  "a definition from stdin",
			stdin: strings.Replace(apiDefinition, "name: api", "name: piped", 1),
			args:  []string{"run", "-f", "-"},
			check: func(t *testing.T, job *batchv1.Job) {
				if !strings.HasPrefix(job.Name, "piped-") || job.Labels["testrun.dev/definition"] != "piped" {
					t.Errorf("job %q labelled %v, want the definition read from stdin", job.Name, job.Labels)
				}
			},
		},
		{
			name: "a shipped plugin on the user's image",
			args: []string{"run", "--plugin", "shell", "--image", "scripts:1", "--", "ci/checks"},
			check: func(t *testing.T, job *batchv1.Job) {
				test := job.Spec.Template.Spec.Containers[0]
				if test.Image != "scripts:1" || len(test.Command) != 4 || test.Command[0] != "sh" || !slicesEqual(test.Args, []string{"ci/checks"}) {
					t.Errorf("image %q, command %q, args %q; want the user's image, the plugin's runner and the args after --", test.Image, test.Command, test.Args)
				}
				if !strings.HasPrefix(job.Name, "shell-") || job.Labels["testrun.dev/definition"] != "shell" {
					t.Errorf("job %q labelled %v, want it named after the plugin", job.Name, job.Labels)
				}
			},
		},
		{
			name: "a plain run gets the global config and --config too",
			args: []string{"run", "smoke", "--image", "x:1", "--config", "RUN=run"},
			check: func(t *testing.T, job *batchv1.Job) {
				env := envMap(job.Spec.Template.Spec.Containers[0].Env)
				for k, v := range map[string]string{"RUN": "run", "WINS": "global", "GLOBAL": "global"} {
					if env[k] != v {
						t.Errorf("%s = %q, want %q", k, env[k], v)
					}
				}
				if _, ok := job.Labels["testrun.dev/definition"]; ok {
					t.Errorf("a plain run has no definition label, got %v", job.Labels)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, dryRunJob(t, tt.stdin, tt.args...))
		})
	}
}

func slicesEqual(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

// The commit and ref come from the first CI's variables that are set.
func TestRunExportsTheCIGitMetadata(t *testing.T) {
	tests := []struct {
		name             string
		env              map[string]string
		wantSHA, wantRef string
	}{
		{name: "no CI"},
		{name: "GitHub Actions", env: map[string]string{"GITHUB_SHA": "a1", "GITHUB_REF": "refs/heads/main"}, wantSHA: "a1", wantRef: "refs/heads/main"},
		{name: "GitLab CI", env: map[string]string{"CI_COMMIT_SHA": "b2", "CI_COMMIT_REF_NAME": "feature"}, wantSHA: "b2", wantRef: "feature"},
		{name: "Azure Pipelines", env: map[string]string{"BUILD_SOURCEVERSION": "c3", "BUILD_SOURCEBRANCH": "refs/heads/x"}, wantSHA: "c3", wantRef: "refs/heads/x"},
		{name: "Jenkins", env: map[string]string{"GIT_COMMIT": "d4", "GIT_BRANCH": "origin/main"}, wantSHA: "d4", wantRef: "origin/main"},
		{name: "GitHub first", env: map[string]string{"GITHUB_SHA": "a1", "GIT_COMMIT": "d4", "GIT_BRANCH": "origin/main"}, wantSHA: "a1", wantRef: "origin/main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inRepository(t, nil)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			env := envMap(dryRunJob(t, "", "run", "smoke", "--image", "x:1").Spec.Template.Spec.Containers[0].Env)
			sha, hasSHA := env["TESTRUN_GIT_SHA"]
			ref, hasRef := env["TESTRUN_GIT_REF"]
			if sha != tt.wantSHA || ref != tt.wantRef || hasSHA != (tt.wantSHA != "") || hasRef != (tt.wantRef != "") {
				t.Errorf("TESTRUN_GIT_SHA=%q (set %v), TESTRUN_GIT_REF=%q (set %v); want %q and %q, unset when empty", sha, hasSHA, ref, hasRef, tt.wantSHA, tt.wantRef)
			}
		})
	}
}

// --selector renders one Job per matching definition; with -o, a List of them.
func TestRunSelectorDryRun(t *testing.T) {
	inRepository(t, map[string]string{
		".testrun/api.yaml": apiDefinition,
		".testrun/ui.yaml":  strings.Replace(apiDefinition, "name: api", "name: ui", 1),
		".testrun/slow.yaml": strings.Replace(strings.Replace(apiDefinition, "name: api", "name: slow", 1),
			"suite: smoke", "suite: nightly", 1),
	})
	out, err := execute(t, "run", "--selector", "suite=smoke", "-n", "ci", "--dry-run=client", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Kind  string
		Items []batchv1.Job
	}
	if err := yaml.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("output is not a List: %v\n%s", err, out)
	}
	var got []string
	for _, j := range list.Items {
		got = append(got, j.Labels["testrun.dev/definition"])
	}
	if diff := cmp.Diff([]string{"api", "ui"}, got); list.Kind != "List" || diff != "" {
		t.Errorf("kind %q with the jobs of definitions (-want +got):\n%s", list.Kind, diff)
	}
	out, err = execute(t, "run", "--selector", "suite=smoke", "-n", "ci", "--dry-run=client")
	if err != nil || strings.Count(out, "created (client dry run)") != 2 {
		t.Errorf("without -o, one line per job, got %v:\n%s", err, out)
	}
}

// A definition file with a typo is refused with the file, the line and the field, before any cluster is
// contacted, also when it only sits in .testrun/ and --selector reads them all.
func TestRunRejectsABrokenDefinition(t *testing.T) {
	inRepository(t, map[string]string{
		"typo.yaml":         strings.Replace(apiDefinition, "  timeout:", "  timout:", 1),
		".testrun/api.yaml": strings.Replace(apiDefinition, "  image:", "  imagee:", 1),
	})
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "-f", "typo.yaml"}, `definition file "typo.yaml": line 22: unknown field "timout" in spec: did you mean "timeout"?`},
		{[]string{"run", "--selector", "suite=smoke"}, `definition file ".testrun/api.yaml": line 7: unknown field "imagee" in spec: did you mean "image"?`},
		{[]string{"run", "--definition", "api"}, `definition file ".testrun/api.yaml": line 7: unknown field "imagee"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := execute(t, tt.args...)
			if code := exitcode.Code(context.Background(), err); code != exitcode.CannotRun || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("exit code %d, error %v; want 125 and %q", code, err, tt.want)
			}
		})
	}
	// A run that does not need the definitions of .testrun/ is not stopped by a broken one.
	if _, err := execute(t, "run", "--plugin", "shell", "--image", "x:1", "--dry-run=client"); err != nil {
		t.Errorf("--plugin with a broken, unrelated .testrun/api.yaml: %v", err)
	}
}

// --toleration takes taints as kubectl taint writes them.
func TestRunTolerations(t *testing.T) {
	job := dryRunJob(t, "", "run", "smoke", "--image", "x:1", "--toleration", "dedicated=ci:NoSchedule",
		"--toleration", "gpu:NoExecute", "--toleration", "spot=true", "--toleration", "example.com/maintenance")
	want := []corev1.Toleration{
		{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "ci", Effect: corev1.TaintEffectNoSchedule},
		{Key: "gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		{Key: "spot", Operator: corev1.TolerationOpEqual, Value: "true"},
		{Key: "example.com/maintenance", Operator: corev1.TolerationOpExists},
	}
	if diff := cmp.Diff(want, job.Spec.Template.Spec.Tolerations); diff != "" {
		t.Errorf("tolerations (-want +got):\n%s", diff)
	}
}

// run's -o and --color complete their values, as every verb's do through the kit.
func TestRunCompletesOutputAndColor(t *testing.T) {
	t.Setenv("KUBECONFIG", t.TempDir()+"/none")
	for flag, want := range map[string]string{"--output": "json\nyaml\n", "--color": "auto\nalways\nnever\n"} {
		var out bytes.Buffer
		root := cmd.NewCmdTestrun(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: io.Discard})
		root.SetOut(&out) // cobra writes completions to the command's own output
		root.SetArgs([]string{"__complete", "run", flag, ""})
		err := root.ExecuteContext(t.Context())
		if err != nil || !strings.HasPrefix(out.String(), want) {
			t.Errorf("completing run %s = %q, %v; want the values %q first", flag, out.String(), err, want)
		}
	}
}

// The pod patches reach the printed Job in order (the definition's, then --overrides), and a Job manifest
// given with -f is a run whose values the flags override.
func TestRunPodPatchesAndJobManifestDryRun(t *testing.T) {
	dir := t.TempDir()
	definition := filepath.Join(dir, "def.yaml")
	manifest := filepath.Join(dir, "job.yaml")
	for file, text := range map[string]string{
		definition: "apiVersion: testrun.dev/v1alpha1\nkind: TestDefinition\nmetadata: {name: patched}\nspec:\n  image: x:1\n  podTemplatePatch:\n    spec: {hostNetwork: true, priorityClassName: definition}\n",
		manifest:   "apiVersion: batch/v1\nkind: Job\nmetadata: {name: manifest, namespace: ci}\nspec:\n  template:\n    spec:\n      dnsPolicy: ClusterFirstWithHostNet\n      containers: [{name: suite, image: manifest:1, args: [--all]}]\n",
	} {
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	printed := func(t *testing.T, args ...string) *batchv1.Job {
		t.Helper()
		out, err := execute(t, append([]string{"--dry-run=client", "-o", "yaml"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var job batchv1.Job
		if err := yaml.Unmarshal([]byte(out), &job); err != nil {
			t.Fatal(err)
		}
		return &job
	}

	job := printed(t, "run", "-f", definition, "--overrides", `spec: {priorityClassName: flag}`)
	if pod := job.Spec.Template.Spec; !pod.HostNetwork || pod.PriorityClassName != "flag" {
		t.Errorf("hostNetwork %v, priorityClassName %q: want the definition's patch, then the flag's", pod.HostNetwork, pod.PriorityClassName)
	}

	job = printed(t, "run", "-f", manifest, "--image", "flag:1", "--", "--focus")
	test := job.Spec.Template.Spec.Containers[0]
	if job.Namespace != "ci" || !strings.HasPrefix(job.Name, "manifest-") || test.Name != "test" || test.Image != "flag:1" ||
		strings.Join(test.Args, " ") != "--focus" || job.Spec.Template.Spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("the manifest made a run: namespace %q, name %q, test container %q image %q args %v, dnsPolicy %q",
			job.Namespace, job.Name, test.Name, test.Image, test.Args, job.Spec.Template.Spec.DNSPolicy)
	}

	_, err := execute(t, "run", "-f", manifest, "-n", "other", "--dry-run=client")
	if code := exitcode.Code(context.Background(), err); code != exitcode.CannotRun || !strings.Contains(fmt.Sprint(err), `is in namespace "ci", -n says "other": pass -n ci`) {
		t.Errorf("a manifest of another namespace than -n: exit code %d, error %v", code, err)
	}
}
