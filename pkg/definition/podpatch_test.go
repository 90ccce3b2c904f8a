package definition

import (
	"strings"
	"testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

const withPatch = `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: conformance
spec:
  image: registry.example/e2e:1
  podTemplatePatch:
    spec:
      hostNetwork: true
      initContainers:
      - name: proxy
        image: proxy:1
        restartPolicy: Always
`

// A definition's podTemplatePatch is checked when the file is read and kept, as JSON, for the run.
func TestParsePodTemplatePatch(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		wantType runspec.PatchType
		want     string
	}{
		{name: "a mapping is strategic", doc: withPatch, wantType: runspec.PatchStrategic,
			want: `{"spec":{"hostNetwork":true,"initContainers":[{"image":"proxy:1","name":"proxy","restartPolicy":"Always"}]}}`},
		{name: "merge", doc: strings.Replace(withPatch, "  podTemplatePatch:", "  podTemplatePatchType: merge\n  podTemplatePatch:", 1), wantType: runspec.PatchMerge,
			want: `{"spec":{"hostNetwork":true,"initContainers":[{"image":"proxy:1","name":"proxy","restartPolicy":"Always"}]}}`},
		{name: "a list is json", doc: strings.Split(withPatch, "  podTemplatePatch:")[0] + "  podTemplatePatch:\n  - {op: add, path: /spec/hostNetwork, value: true}\n", wantType: runspec.PatchJSON,
			want: `[{"op":"add","path":"/spec/hostNetwork","value":true}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse("c.yaml", []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			p := d.PodPatch
			if p == nil {
				t.Fatal("Parse kept no patch")
			}
			if p.Type != tt.wantType || string(p.Patch) != tt.want {
				t.Errorf("patch = %s %s, want %s %s", p.Type, p.Patch, tt.wantType, tt.want)
			}
			if p.Source != `definition file "c.yaml": line 7: spec.podTemplatePatch` && p.Source != `definition file "c.yaml": line 8: spec.podTemplatePatch` {
				t.Errorf("source = %q, want the file and the line of the field", p.Source)
			}
		})
	}
	d, err := Parse("c.yaml", []byte(strings.Split(withPatch, "  podTemplatePatch:")[0]))
	if err != nil || d.PodPatch != nil {
		t.Errorf("a definition without a patch: %v, %v", d.PodPatch, err)
	}
}

// A patch that would not work is refused when the file is read, at the line of the field at fault.
func TestParsePodTemplatePatchErrors(t *testing.T) {
	head := strings.Split(withPatch, "  podTemplatePatch:")[0]
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{name: "misspelt field, at its line", doc: strings.Replace(withPatch, "hostNetwork", "hostNetwrk", 1),
			wantErr: `definition file "f.yaml": line 9: spec.podTemplatePatch.spec.hostNetwrk: the patched pod template is not a pod template: unknown field "spec.hostNetwrk"`},
		{name: "misspelt field in a list item, at its line", doc: strings.Replace(withPatch, "restartPolicy: Always", "restartPolcy: Always", 1),
			wantErr: `definition file "f.yaml": line 13: spec.podTemplatePatch.spec.initContainers[0].restartPolcy`},
		{name: "removes the holder", doc: head + "  podTemplatePatch:\n  - {op: remove, path: /spec/containers/1}\n",
			wantErr: `definition file "f.yaml": line 7: spec.podTemplatePatch: the patch removes the holder container "holder"`},
		{name: "turns off the shared process namespace", doc: head + "  podTemplatePatch:\n    spec: {shareProcessNamespace: false}\n",
			wantErr: `line 7: spec.podTemplatePatch: the patch turns off shareProcessNamespace`},
		{name: "a list as strategic", doc: head + "  podTemplatePatchType: strategic\n  podTemplatePatch: [{op: add}]\n",
			wantErr: `line 8: spec.podTemplatePatch: a strategic patch is a mapping of the pod template`},
		{name: "unknown type", doc: head + "  podTemplatePatchType: apply\n  podTemplatePatch: {}\n",
			wantErr: `definition file "f.yaml": line 7: spec.podTemplatePatchType: "apply" is not strategic, merge or json`},
		{name: "type without a patch", doc: head + "  podTemplatePatchType: json\n",
			wantErr: `line 7: spec.podTemplatePatchType: there is no podTemplatePatch to apply`},
		{name: "a scalar", doc: head + "  podTemplatePatch: hostNetwork\n",
			wantErr: `line 7: spec.podTemplatePatch: a strategic patch is a mapping`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error does not contain %q:\n%v", tt.wantErr, err)
			}
		})
	}
}
