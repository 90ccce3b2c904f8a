package definition

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// jobYAML is a Job as `kubectl create job --dry-run=client -o yaml` writes it, with more of a real manifest.
const jobYAML = `apiVersion: batch/v1
kind: Job
metadata:
  creationTimestamp: null
  name: api-tests
  namespace: ci
  labels:
    suite: api
spec:
  backoffLimit: 4
  activeDeadlineSeconds: 1200
  ttlSecondsAfterFinished: 60
  template:
    metadata:
      creationTimestamp: null
      annotations:
        example.com/owner: qa
    spec:
      hostNetwork: true
      serviceAccountName: e2e
      containers:
      - name: suite
        image: registry.example/api-tests:3
        command: [npm, test]
        args: [--ci]
        workingDir: /src
        env:
        - name: API_URL
          value: http://api
        - name: TOKEN
          valueFrom:
            secretKeyRef: {name: creds, key: token}
        resources:
          requests: {cpu: 500m}
          limits: {memory: 1Gi}
      restartPolicy: Never
status: {}
`

// A Job manifest becomes a definition: the container's values its values, the rest of the template a
// strategic merge patch that keeps them once the plugin built the pod.
func TestReadJob(t *testing.T) {
	d, err := ReadFile("job.yaml", []byte(jobYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{
		Image: "registry.example/api-tests:3", Command: []string{"npm", "test"}, Args: []string{"--ci"}, WorkingDir: "/src",
		Env:       []EnvVar{{Name: "API_URL", Value: "http://api"}},
		Resources: Resources{Requests: map[string]string{"cpu": "500m"}, Limits: map[string]string{"memory": "1Gi"}},
		Timeout:   "1200s", Labels: map[string]string{"suite": "api"},
	}
	if diff := cmp.Diff(want, d.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if d.Metadata.Name != "api-tests" || d.Namespace != "ci" || d.Source != (Source{Origin: OriginFile, File: "job.yaml"}) {
		t.Errorf("name %q, namespace %q, source %v", d.Metadata.Name, d.Namespace, d.Source)
	}
	if d.PodPatch == nil || d.PodPatch.Type != runspec.PatchStrategic {
		t.Fatalf("patch = %v, want a strategic merge patch", d.PodPatch)
	}
	job, err := runspec.Job(runspec.Spec{Name: "api-tests-abcde", Image: d.Spec.Image, PodPatches: []runspec.PodPatch{*d.PodPatch}})
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template
	if !pod.Spec.HostNetwork || pod.Spec.ServiceAccountName != "e2e" || pod.Annotations["example.com/owner"] != "qa" {
		t.Errorf("the pod lost the manifest's hostNetwork, service account or annotation: %+v", pod)
	}
	test := pod.Spec.Containers[0]
	i := strings.Index(mustJSON(t, test.Env), `"name":"TOKEN","valueFrom":{"secretKeyRef":{"name":"creds","key":"token"}}`)
	if test.Name != runspec.TestContainer || i < 0 || *job.Spec.BackoffLimit != 0 || pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("test container %q with env %v, backoffLimit %d, restartPolicy %s", test.Name, test.Env, *job.Spec.BackoffLimit, pod.Spec.RestartPolicy)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// What a run cannot keep of a Job is refused at its line, saying what to do.
func TestReadJobRefusals(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{name: "completions", doc: strings.Replace(jobYAML, "  backoffLimit: 4", "  completions: 3", 1),
			wantErr: `job manifest "job.yaml": line 10: spec.completions: 3: a run is one pod run once: remove it or set 1`},
		{name: "parallelism", doc: strings.Replace(jobYAML, "  backoffLimit: 4", "  parallelism: 2", 1), wantErr: `line 10: spec.parallelism: 2`},
		{name: "indexed", doc: strings.Replace(jobYAML, "  backoffLimit: 4", "  completionMode: Indexed", 1), wantErr: `line 10: spec.completionMode: Indexed`},
		{name: "restartPolicy OnFailure", doc: strings.Replace(jobYAML, "restartPolicy: Never", "restartPolicy: OnFailure", 1),
			wantErr: `line 36: spec.template.spec.restartPolicy: OnFailure: a run is one pod run once, so restartPolicy is Never: set it`},
		{name: "restartPolicy Always", doc: strings.Replace(jobYAML, "restartPolicy: Never", "restartPolicy: Always", 1), wantErr: `restartPolicy: Always`},
		{name: "two containers", doc: strings.Replace(jobYAML, "      containers:\n", "      containers:\n      - {name: proxy, image: proxy:1}\n", 1),
			wantErr: `line 21: spec.template.spec.containers: 2 containers: the run's test is one container; make the others sidecars (initContainers with restartPolicy: Always)`},
		{name: "suspend", doc: strings.Replace(jobYAML, "  backoffLimit: 4", "  suspend: true", 1), wantErr: `line 10: spec.suspend: a run is one pod run once: remove it`},
		{name: "the Job's annotations", doc: strings.Replace(jobYAML, "  labels:\n    suite: api", "  annotations:\n    a: b", 1),
			wantErr: `line 7: metadata.annotations: the Job's own annotations are not kept: move them to spec.template.metadata.annotations`},
		{name: "a reserved label", doc: strings.Replace(jobYAML, "suite: api", "testrun.dev/name: x", 1), wantErr: `line 8: metadata.labels.testrun.dev/name: label "testrun.dev/name" is set by kubectl-testrun itself`},
		{name: "the plugin's volume name", doc: strings.Replace(jobYAML, "      hostNetwork: true", "      volumes: [{name: testrun-reports, emptyDir: {}}]", 1),
			wantErr: `line 19: spec.template.spec.volumes[0].name: "testrun-reports" is the name of a volume of the plugin: rename it`},
		{name: "an unknown field, at its line", doc: strings.Replace(jobYAML, "workingDir: /src", "workDir: /src", 1),
			wantErr: `job manifest "job.yaml": line 26: spec.template.spec.containers[0].workDir: unknown field of a batch/v1 Job`},
		{name: "shareProcessNamespace off", doc: strings.Replace(jobYAML, "hostNetwork: true", "shareProcessNamespace: false", 1),
			wantErr: `job manifest "job.yaml": spec.template: the patch turns off shareProcessNamespace`},
		{name: "no name", doc: strings.Replace(jobYAML, "  name: api-tests\n", "", 1), wantErr: `line 3: metadata.name: the run name is empty`},
		{name: "another apiVersion", doc: strings.Replace(jobYAML, "batch/v1", "batch/v2", 1), wantErr: `line 1: apiVersion: "batch/v2" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFile("job.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error does not contain %q:\n%v", tt.wantErr, err)
			}
		})
	}
}

// generateName stands in for a name, without its trailing dash.
func TestReadJobGenerateName(t *testing.T) {
	d, err := ReadJob("job.yaml", []byte(strings.Replace(jobYAML, "  name: api-tests", "  generateName: api-", 1)))
	if err != nil || d.Metadata.Name != "api" {
		t.Fatalf("name = %v, err = %v; want api", d, err)
	}
}
