package runspec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func mustPatch(t *testing.T, typ PatchType, text string) PodPatch {
	t.Helper()
	p, err := ParsePodPatch("--overrides", typ, []byte(text))
	if err != nil {
		t.Fatalf("ParsePodPatch(%s, %s): %v", typ, text, err)
	}
	return p
}

// Each kind of patch changes the pod template as kubectl's patches of the same type do, after the plugin
// built it, and leaves what the plugin needs in place.
func TestJobAppliesPodPatches(t *testing.T) {
	base := Spec{Name: "smoke-abcde", Image: "app-tests:1"}
	tests := []struct {
		name    string
		patches []PodPatch
		check   func(t *testing.T, pod corev1.PodTemplateSpec)
	}{
		{
			name:    "strategic, as JSON: a pod field",
			patches: []PodPatch{mustPatch(t, "", `{"spec":{"hostNetwork":true,"priorityClassName":"ci"}}`)},
			check: func(t *testing.T, pod corev1.PodTemplateSpec) {
				if !pod.Spec.HostNetwork || pod.Spec.PriorityClassName != "ci" {
					t.Errorf("hostNetwork %v, priorityClassName %q: want true, ci", pod.Spec.HostNetwork, pod.Spec.PriorityClassName)
				}
			},
		},
		{
			name: "strategic, as YAML: a sidecar, a volume and a mount merge by name",
			patches: []PodPatch{mustPatch(t, PatchStrategic, `
spec:
  volumes: [{name: shared, emptyDir: {}}]
  initContainers: [{name: proxy, image: proxy:1, restartPolicy: Always}]
  containers: [{name: test, volumeMounts: [{name: shared, mountPath: /shared}]}]
metadata:
  annotations: {example.com/owner: qa}
`)},
			check: func(t *testing.T, pod corev1.PodTemplateSpec) {
				var names []string
				for _, c := range pod.Spec.Containers {
					names = append(names, c.Name)
				}
				if diff := cmp.Diff([]string{"test", "holder"}, names); diff != "" {
					t.Errorf("containers (-want +got):\n%s", diff)
				}
				if len(pod.Spec.InitContainers) != 1 || pod.Spec.InitContainers[0].Name != "proxy" {
					t.Errorf("init containers = %v, want the sidecar proxy", pod.Spec.InitContainers)
				}
				// A strategic merge patch puts the items it adds first.
				want := []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}, {Name: ReportsVolume, MountPath: "/reports"}}
				if diff := cmp.Diff(want, pod.Spec.Containers[0].VolumeMounts); diff != "" {
					t.Errorf("test container mounts (-want +got):\n%s", diff)
				}
				if len(pod.Spec.Volumes) != 3 || pod.Annotations["example.com/owner"] != "qa" {
					t.Errorf("volumes %v, annotations %v: want the plugin's two and shared, and the annotation", pod.Spec.Volumes, pod.Annotations)
				}
			},
		},
		{
			name:    "merge: a map merges, the rest stays",
			patches: []PodPatch{mustPatch(t, PatchMerge, `{"spec":{"nodeSelector":{"disk":"ssd"},"runtimeClassName":"gvisor"}}`)},
			check: func(t *testing.T, pod corev1.PodTemplateSpec) {
				if pod.Spec.NodeSelector["disk"] != "ssd" || ptr.Deref(pod.Spec.RuntimeClassName, "") != "gvisor" || len(pod.Spec.Containers) != 2 {
					t.Errorf("nodeSelector %v, runtimeClassName %v, %d containers", pod.Spec.NodeSelector, pod.Spec.RuntimeClassName, len(pod.Spec.Containers))
				}
			},
		},
		{
			name:    "json: operations on paths",
			patches: []PodPatch{mustPatch(t, PatchJSON, `[{"op":"add","path":"/spec/containers/0/securityContext","value":{"privileged":true}}]`)},
			check: func(t *testing.T, pod corev1.PodTemplateSpec) {
				if sc := pod.Spec.Containers[0].SecurityContext; sc == nil || !ptr.Deref(sc.Privileged, false) {
					t.Errorf("the test container's securityContext = %v, want privileged", sc)
				}
			},
		},
		{
			name: "in order: the later patch wins",
			patches: []PodPatch{
				mustPatch(t, "", `{"spec":{"priorityClassName":"definition"}}`),
				mustPatch(t, "", `{"spec":{"priorityClassName":"flag"}}`),
			},
			check: func(t *testing.T, pod corev1.PodTemplateSpec) {
				if pod.Spec.PriorityClassName != "flag" {
					t.Errorf("priorityClassName = %q, want flag", pod.Spec.PriorityClassName)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			s.PodPatches = tt.patches
			if err := s.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			job, err := Job(s)
			if err != nil {
				t.Fatalf("Job: %v", err)
			}
			tt.check(t, job.Spec.Template)
			if !*job.Spec.Template.Spec.ShareProcessNamespace || job.Spec.Template.Labels[LabelRun] != s.Name {
				t.Errorf("the patch lost the plugin's pod: %+v", job.Spec.Template)
			}
		})
	}
}

// Job without patches is BuildJob's Job.
func TestJobWithoutPatchesIsBuildJob(t *testing.T) {
	s := Spec{Name: "smoke-abcde", Image: "app-tests:1"}
	job, err := Job(s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(BuildJob(s), job); diff != "" {
		t.Errorf("Job (-BuildJob +Job):\n%s", diff)
	}
}

// A patch that breaks what the plugin needs of the pod, or that does not apply, is refused by Validate (so
// before anything is created), naming the patch's source and what to do.
func TestPodPatchRefusals(t *testing.T) {
	tests := []struct {
		name    string
		typ     PatchType
		patch   string
		wantErr string
	}{
		{"removes the holder", PatchJSON, `[{"op":"remove","path":"/spec/containers/1"}]`, `--overrides: the patch removes the holder container "holder"`},
		{"deletes the holder by name", PatchStrategic, `{"spec":{"containers":[{"name":"holder","$patch":"delete"}]}}`, `the patch removes the holder container "holder"`},
		{"replaces the containers", PatchMerge, `{"spec":{"containers":[{"name":"test","image":"x"}]}}`, `the patch removes the test container's mount of the reports volume "testrun-reports" at "/reports"`},
		{"renames the test container", PatchJSON, `[{"op":"replace","path":"/spec/containers/0/name","value":"main"}]`, `the patch removes or renames the test container "test"`},
		{"changes the holder", PatchStrategic, `{"spec":{"containers":[{"name":"holder","image":"other:1"}]}}`, `the patch changes the holder container "holder"`},
		{"turns off shareProcessNamespace", PatchStrategic, `{"spec":{"shareProcessNamespace":false}}`, "the patch turns off shareProcessNamespace"},
		{"restarts the test", PatchStrategic, `{"spec":{"restartPolicy":"OnFailure"}}`, `the patch sets restartPolicy "OnFailure"`},
		{"removes a volume", PatchJSON, `[{"op":"remove","path":"/spec/volumes/1"}]`, `the volume "testrun-control"`},
		{"changes the run label", PatchStrategic, `{"metadata":{"labels":{"testrun.dev/name":"other"}}}`, `the patch changes the label "testrun.dev/name"`},
		{"adds an init container named holder", PatchStrategic, `{"spec":{"initContainers":[{"name":"holder","image":"x"}]}}`, `an init container named "test" or "holder"`},
		{"misspells a field", PatchStrategic, `{"spec":{"hostNetwrk":true}}`, `--overrides: the patched pod template is not a pod template: unknown field "spec.hostNetwrk"`},
		{"a value of the wrong type", PatchStrategic, `{"spec":{"hostNetwork":"yes"}}`, `--overrides: the patched pod template is not a pod template`},
		{"a json patch path that is not there", PatchJSON, `[{"op":"replace","path":"/spec/nothing/0","value":1}]`, "--overrides: the json patch does not apply to the pod template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Spec{Name: "smoke-abcde", Image: "app-tests:1", PodPatches: []PodPatch{mustPatch(t, tt.typ, tt.patch)}}
			checkErr(t, s.Validate(), tt.wantErr)
			if _, err := Job(s); err == nil {
				t.Errorf("Job accepted the patch")
			}
		})
	}
}

// ParsePodPatch takes JSON or YAML and refuses a shape that does not suit the type, and an unknown type.
func TestParsePodPatch(t *testing.T) {
	tests := []struct {
		name    string
		typ     PatchType
		text    string
		want    string
		wantErr string
	}{
		{name: "JSON", text: `{"spec": {"hostNetwork": true}}`, want: `{"spec":{"hostNetwork":true}}`},
		{name: "YAML", text: "spec:\n  hostNetwork: true\n", want: `{"spec":{"hostNetwork":true}}`},
		{name: "json patch as YAML", typ: PatchJSON, text: "- op: add\n  path: /spec/hostNetwork\n  value: true\n", want: `[{"op":"add","path":"/spec/hostNetwork","value":true}]`},
		{name: "a list as strategic", text: `[{"op":"add"}]`, wantErr: "--overrides: a strategic patch is a mapping of the pod template"},
		{name: "a mapping as json", typ: PatchJSON, text: `{"spec":{}}`, wantErr: "--overrides: a json patch is a list of operations"},
		{name: "neither JSON nor YAML", text: `{"spec": [}`, wantErr: "--overrides: the patch is neither JSON nor YAML"},
		{name: "unknown type", typ: "apply", text: `{}`, wantErr: `--overrides: patch type "apply" is not one of strategic, merge, json`},
		{name: "a string", text: `hostNetwork`, wantErr: "a strategic patch is a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePodPatch("--overrides", tt.typ, []byte(tt.text))
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && string(p.Patch) != tt.want {
				t.Errorf("patch = %s, want %s", p.Patch, tt.want)
			}
		})
	}
}

// Errors of several broken invariants each name the source.
func TestPodPatchErrorsEachNameTheSource(t *testing.T) {
	s := Spec{Name: "smoke-abcde", Image: "app-tests:1", PodPatches: []PodPatch{mustPatch(t, PatchStrategic, `{"spec":{"shareProcessNamespace":false,"restartPolicy":"Always"}}`)}}
	_, err := Job(s)
	if err == nil {
		t.Fatal("Job accepted the patch")
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, "--overrides: ") {
			t.Errorf("error line does not name the patch's source: %q", line)
		}
	}
}
