package definition

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func ptr[T any](v T) *T { return &v }

// A TestMachinery TestDefinition, written as TestMachinery's documentation writes one, maps onto ours: its
// image, command, args, resources, activeDeadlineSeconds as the timeout, its configuration with a file's
// base64 value decoded, /src as the working directory and TM_EXPORT_PATH as the report directory.
func TestTMDefinitionMapping(t *testing.T) {
	d, err := ParseTMDefinition(".test-defs/a.yaml", []byte(`kind: TestDefinition
metadata:
  name: create-shoot
spec:
  owner: gardener@example.com
  recipientsOnFailure: [developer1@example.com]
  description: creates a shoot
  activeDeadlineSeconds: 900
  labels: ["default", "shoot"]
  behavior: ["serial"]
  command: [bash, -c]
  args: ["test.sh"]
  image: golang:1.22
  resources:
    requests: {cpu: 100m}
    limits: {memory: 1Gi}
  config:
  - type: env
    name: TESTENV1
    value: "Env content"
  - type: env
    name: TESTENV2
    valueFrom:
      secretKeyRef: {name: secret-name, key: secretKey}
  - type: file
    name: file1
    path: /tmp/tm/file1.txt
    value: "aGVsbG8gd29ybGQK"
  - type: file
    name: file2
    path: /tmp/tm/file2.txt
    valueFrom:
      configMapKeyRef: {name: configmap-name, key: configmapKey}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Definition{
		APIVersion: APIVersion, Kind: KindDefinition,
		Metadata: Metadata{Name: "create-shoot", Annotations: map[string]string{AnnotationDescription: "creates a shoot"}},
		Spec: Spec{
			Image: "golang:1.22", Command: []string{"bash", "-c"}, Args: []string{"test.sh"},
			WorkingDir: "/src", Reports: Reports{Dir: "/tmp/tm/export"}, Timeout: "900s",
			Resources: Resources{Requests: map[string]string{"cpu": "100m"}, Limits: map[string]string{"memory": "1Gi"}},
			Config: []Config{
				{Name: "TESTENV1", Type: ConfigEnv, Value: ptr("Env content")},
				{Name: "TESTENV2", Type: ConfigEnv, ValueFrom: &ValueFrom{SecretKeyRef: &KeyRef{Name: "secret-name", Key: "secretKey"}}},
				{Name: "file1", Type: ConfigFile, Path: "/tmp/tm/file1.txt", Value: ptr("hello world\n")},
				{Name: "file2", Type: ConfigFile, Path: "/tmp/tm/file2.txt", ValueFrom: &ValueFrom{ConfigMapKeyRef: &KeyRef{Name: "configmap-name", Key: "configmapKey"}}},
			},
		},
		Source: Source{Origin: OriginFile, File: ".test-defs/a.yaml"},
	}
	if diff := cmp.Diff(want, d.Definition(), cmpopts.IgnoreUnexported(Definition{})); diff != "" {
		t.Errorf("mapping (-want +got):\n%s", diff)
	}
	if !d.Serial() || !d.MatchesLabel("default,!beta") || d.MatchesLabel("default,!shoot") || d.MatchesLabel("beta") {
		t.Errorf("serial %v, label matches wrong for labels %v", d.Serial(), d.Spec.Labels)
	}
}

// A TestDefinition without image or activeDeadlineSeconds gets TestMachinery's defaults.
func TestTMDefinitionDefaults(t *testing.T) {
	d, err := ParseTMDefinition("a.yaml", []byte("apiVersion: testmachinery.sapcloud.io/v1beta1\nkind: TestDefinition\nmetadata: {name: a}\nspec: {command: [true], behavior: [disruptive]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := d.Definition()
	if got.Spec.Image != TMBaseImage || got.Spec.Timeout != "600s" || !d.Serial() {
		t.Errorf("image %q, timeout %q, serial %v; want TestMachinery's base image, 600s and serial for disruptive", got.Spec.Image, got.Spec.Timeout, d.Serial())
	}
}

// TestMachinery's label expressions: every name must be there, every !name must not.
func TestTMMatchesLabel(t *testing.T) {
	defs := map[string][]string{"def1": {"default_1"}, "def2": {"default_2"}, "def3": {"default_1", "default_2"}}
	for expr, want := range map[string][]string{
		"default_1":            {"def1", "def3"},
		"default_2":            {"def2", "def3"},
		"default_1,default_2":  {"def3"},
		"default_1,!default_2": {"def1"},
	} {
		var got []string
		for _, name := range []string{"def1", "def2", "def3"} {
			d := &TMDefinition{Spec: TMDefSpec{Labels: defs[name]}}
			if d.MatchesLabel(expr) {
				got = append(got, name)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("label %q (-want +got):\n%s", expr, diff)
		}
	}
}

// Every refusal of a TestDefinition names the file, the line and the field.
func TestParseTMDefinitionRefusals(t *testing.T) {
	head := "kind: TestDefinition\nmetadata: {name: a}\n"
	tests := map[string]struct{ doc, want string }{
		"unknown field":     {head + "spec:\n  command: [x]\n  imag: busybox\n", `line 5: unknown field "imag" in spec: did you mean "image"?`},
		"no command":        {head + "spec:\n  image: busybox\n", "line 3: spec.command: the command is missing"},
		"bad behavior":      {head + "spec:\n  command: [x]\n  behavior: [fast]\n", `line 5: spec.behavior[0]: behavior "fast" is not serial or disruptive`},
		"bad deadline":      {head + "spec:\n  command: [x]\n  activeDeadlineSeconds: soon\n", `line 5: spec.activeDeadlineSeconds: "soon" is not a positive number of seconds`},
		"file not base64":   {head + "spec:\n  command: [x]\n  config:\n  - {type: file, name: f, path: /f, value: \"not base64!\"}\n", "line 6: spec.config[0].value: the value of a file is base64-encoded content"},
		"file without path": {head + "spec:\n  command: [x]\n  config:\n  - {type: file, name: f, value: aGk=}\n", "line 6: spec.config[0].path: a file needs a path"},
		"bad name":          {"kind: TestDefinition\nmetadata: {name: A.b}\nspec: {command: [x]}\n", `line 2: metadata.name: "A.b" is not a valid name`},
		"other version":     {"apiVersion: testmachinery.sapcloud.io/v1alpha1\n" + head + "spec: {command: [x]}\n", `line 1: apiVersion: "testmachinery.sapcloud.io/v1alpha1" is not supported`},
		"bad label":         {head + "spec:\n  command: [x]\n  labels: [\"!beta\"]\n", `line 5: spec.labels[0]: "!beta" is not a label`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseTMDefinition("a.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"a.yaml"`) {
				t.Errorf("error = %v, want one naming a.yaml and containing %q", err, tt.want)
			}
		})
	}
}

const testrunHead = `apiVersion: testmachinery.sapcloud.io/v1beta1
kind: Testrun
metadata:
  generateName: integration-
spec:
`

// A Testrun as TestMachinery's documentation writes one parses, with its steps' lines and kubeconfigs.
func TestParseTestrun(t *testing.T) {
	tr, err := ParseTestrun("tr.yaml", []byte(testrunHead+`  ttlSecondsAfterFinished: 60
  locationSets:
  - name: local
    default: true
    locations:
    - {type: local, hostPath: /repo}
  kubeconfigs:
    shoot: YWJj
    seed:
      secretKeyRef: {name: seed, key: kubeconfig}
  config:
  - {name: PROJECT_NAMESPACE, type: env, value: garden-it}
  testflow:
  - name: create-shoot
    definition: {name: create-shoot}
  - name: tests
    dependsOn: [create-shoot]
    definition:
      label: default,!beta
      continueOnError: true
      config:
      - {name: SHOOT, type: env, value: x, private: true}
  onExit:
  - name: delete-shoot
    definition: {name: delete-shoot, condition: always}
`))
	if err != nil {
		t.Fatal(err)
	}
	name, _ := tr.FlowName()
	got := []any{name, tr.Spec.TestFlow[1].Line, tr.Spec.OnExit[0].Line, tr.Spec.TestFlow[1].Definition.ContinueOnError}
	if diff := cmp.Diff([]any{"integration", 21, 29, true}, got); diff != "" {
		t.Errorf("name, lines, continueOnError (-want +got):\n%s", diff)
	}
	shoot, ok := tr.Spec.Kubeconfigs.KubeconfigConfig("shoot")
	seed, _ := tr.Spec.Kubeconfigs.KubeconfigConfig("seed")
	_, hasHost := tr.Spec.Kubeconfigs.KubeconfigConfig("host")
	want := []Config{
		{Name: "kubeconfig.shoot", Type: ConfigFile, Path: "/tmp/tm/kubeconfig/shoot.config", Value: ptr("abc")},
		{Name: "kubeconfig.seed", Type: ConfigFile, Path: "/tmp/tm/kubeconfig/seed.config", ValueFrom: &ValueFrom{SecretKeyRef: &KeyRef{Name: "seed", Key: "kubeconfig"}}},
	}
	if diff := cmp.Diff(want, []Config{shoot, seed}); diff != "" || !ok || hasHost {
		t.Errorf("kubeconfigs (-want +got):\n%s (shoot given %v, host given %v)", diff, ok, hasHost)
	}
}

// Every refusal of a Testrun names the file, the line and the field, and what to do.
func TestParseTestrunRefusals(t *testing.T) {
	flow := "  testflow:\n  - {name: a, definition: {name: a}}\n"
	tests := map[string]struct{ doc, want string }{
		"git location": {testrunHead + "  testLocations:\n  - {type: git, repo: https://github.com/x/y.git, revision: master}\n" + flow,
			"line 7: spec.testLocations[0].type: git locations are not supported: kubectl testrun runs client-only and clones nothing; check https://github.com/x/y.git out and give it as type: local with hostPath"},
		"local without hostPath": {testrunHead + "  testLocations:\n  - {type: local}\n" + flow, "line 7: spec.testLocations[0].hostPath: a local location needs hostPath"},
		"both location kinds": {testrunHead + "  testLocations:\n  - {type: local, hostPath: .}\n  locationSets:\n  - {name: s, locations: [{type: local, hostPath: .}]}\n" + flow,
			"line 6: spec.testLocations: give testLocations or locationSets, not both"},
		"other kind":    {strings.Replace(testrunHead, "Testrun", "TestrunList", 1) + flow, `line 2: kind: kind "TestrunList" is not expected here: use Testrun`},
		"other version": {strings.Replace(testrunHead, "v1beta1", "v1", 1) + flow, `line 1: apiVersion: "testmachinery.sapcloud.io/v1" is not supported`},
		"no name":       {strings.Replace(testrunHead, "  generateName: integration-\n", "  namespace: default\n", 1) + flow, "line 3: metadata: the Testrun has no name"},
		"unknown field": {testrunHead + "  testflow:\n  - name: a\n    definition: {name: a}\n    dependson: [b]\n", `line 9: unknown field "dependson" in spec.testflow[0]: did you mean "dependsOn"?`},
		"unknown step":  {testrunHead + "  testflow:\n  - {name: a, definition: {name: a}, dependsOn: [b]}\n", `line 7: spec.testflow[0].dependsOn[0]: no step is named "b"`},
		"cycle": {testrunHead + "  testflow:\n  - {name: a, definition: {name: a}, dependsOn: [b]}\n  - {name: b, definition: {name: b}, dependsOn: [a]}\n",
			"line 7: spec.testflow[0].dependsOn: the steps depend on each other in a cycle (a → b → a"},
		"pause": {testrunHead + "  testflow:\n  - name: a\n    definition: {name: a}\n    pause: {enabled: true}\n",
			"line 9: spec.testflow[0].pause.enabled: a paused step waits for TestMachinery's controller"},
		"bad condition":  {testrunHead + flow + "  onExit:\n  - {name: b, definition: {name: b, condition: sometimes}}\n", `line 9: spec.onExit[0].definition.condition: condition "sometimes" is not always, success or error`},
		"bad kubeconfig": {testrunHead + "  kubeconfigs:\n    shoot: \"not base64!\"\n" + flow, "line 7: spec.kubeconfigs.shoot: a kubeconfig given as a string is base64-encoded"},
		"kubeconfig ref": {testrunHead + "  kubeconfigs:\n    seed: {secretRef: {name: s}}\n" + flow, `line 7: spec.kubeconfigs.seed.secretRef: unknown field "secretRef"`},
		"both name and label": {testrunHead + "  testflow:\n  - {name: a, definition: {name: a, label: default}}\n",
			"line 7: spec.testflow[0].definition: both name and label are given"},
		"unknown location set": {testrunHead + "  locationSets:\n  - {name: s, locations: [{type: local, hostPath: .}]}\n  testflow:\n  - {name: a, definition: {name: a, locationSet: t}}\n",
			`line 9: spec.testflow[0].definition.locationSet: no location set is named "t"`},
		"old onExit shape": {testrunHead + flow + "  onExit:\n  - - name: b\n", "line 9"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseTestrun("tr.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"tr.yaml"`) {
				t.Errorf("error = %v, want one naming tr.yaml and containing %q", err, tt.want)
			}
		})
	}
}
