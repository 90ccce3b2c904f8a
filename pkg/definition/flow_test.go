package definition

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// validFlow is a diamond with an onExit step, setting every field of a step once.
const validFlow = `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata:
  name: integration
spec:
  config:
  - {name: REGION, type: env, value: eu}
  steps:
  - name: create
    definition: {name: create-env}
    timeout: 5m
  - name: api
    definition: {label: "suite=smoke,!beta"}
    dependsOn: [create]
    image: registry.example/tests:1
    args: [-k, api]
    env:
    - {name: LEVEL, value: step}
    config:
    - {name: TOKEN, type: env, value: t}
  - name: ui
    definition: {name: ui-tests}
    dependsOn: [create]
  - name: report
    definition: {name: shell}
    dependsOn: [api, ui]
  onExit:
  - name: delete
    definition: {name: delete-env}
    condition: always
  - name: notify
    definition: {name: notify}
    condition: error
    dependsOn: [delete]
`

func TestParseFlowValid(t *testing.T) {
	f, err := ParseFlow("flow.yaml", []byte(validFlow))
	if err != nil {
		t.Fatalf("ParseFlow of a valid flow: %v", err)
	}
	type step struct {
		Name, Def, Label, Condition string
		DependsOn                   []string
		Line                        int
	}
	var got []step
	for _, s := range append(f.Spec.Steps, f.Spec.OnExit...) {
		got = append(got, step{s.Name, s.Definition.Name, s.Definition.Label, s.Condition, s.DependsOn, s.Line})
	}
	want := []step{
		{Name: "create", Def: "create-env", Line: 9},
		{Name: "api", Label: "suite=smoke,!beta", DependsOn: []string{"create"}, Line: 12},
		{Name: "ui", Def: "ui-tests", DependsOn: []string{"create"}, Line: 21},
		{Name: "report", Def: "shell", DependsOn: []string{"api", "ui"}, Line: 24},
		{Name: "delete", Def: "delete-env", Condition: "always", Line: 28},
		{Name: "notify", Def: "notify", Condition: "error", DependsOn: []string{"delete"}, Line: 31},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if f.Metadata.Name != "integration" || len(f.Spec.Config) != 1 || f.Spec.Steps[1].Image != "registry.example/tests:1" {
		t.Errorf("flow = %+v, want the name, the global config and the step's image of the document", f)
	}
	if got := f.Spec.Steps[0].TimeoutDuration().String(); got != "5m0s" {
		t.Errorf("create's timeout = %s, want 5m0s", got)
	}
}

// Every mistake is refused with the file, the line and the field, before anything runs.
func TestParseFlowErrors(t *testing.T) {
	steps := func(body string) string {
		return "apiVersion: testrun.dev/v1alpha1\nkind: TestFlow\nmetadata: {name: f}\nspec:\n" + body
	}
	tests := []struct {
		name, doc string
		want      []string
	}{{
		name: "a cycle",
		doc: steps(`  steps:
  - {name: a, definition: {name: x}, dependsOn: [c]}
  - {name: b, definition: {name: x}, dependsOn: [a]}
  - {name: c, definition: {name: x}, dependsOn: [b]}
`),
		want: []string{`definition file "f.yaml": line 6: spec.steps[0].dependsOn: the steps depend on each other in a cycle (a → c → b → a, each depending on the next): none of them could ever start; remove one of these dependencies`},
	}, {
		name: "a step depending on itself",
		doc:  steps("  steps:\n  - {name: a, definition: {name: x}, dependsOn: [a]}\n"),
		want: []string{`line 6: spec.steps[0].dependsOn[0]: step "a" depends on itself`},
	}, {
		name: "an unknown step name",
		doc:  steps("  steps:\n  - {name: a, definition: {name: x}, dependsOn: [nope]}\n"),
		want: []string{`line 6: spec.steps[0].dependsOn[0]: no step is named "nope": name one of the flow's steps`},
	}, {
		name: "an onExit step depending on a step",
		doc:  steps("  steps:\n  - {name: a, definition: {name: x}}\n  onExit:\n  - {name: z, definition: {name: x}, dependsOn: [a]}\n"),
		want: []string{`line 8: spec.onExit[0].dependsOn[0]: no onExit step is named "a"`},
	}, {
		name: "a condition on a step",
		doc:  steps("  steps:\n  - {name: a, definition: {name: x}, condition: always}\n"),
		want: []string{`spec.steps[0].condition: only an onExit step has a condition`},
	}, {
		name: "an unknown condition",
		doc:  steps("  steps:\n  - {name: a, definition: {name: x}}\n  onExit:\n  - {name: z, definition: {name: x}, condition: failure}\n"),
		want: []string{`spec.onExit[0].condition: condition "failure" is not always, success or error`},
	}, {
		name: "two ways to choose the definition, then none",
		doc:  steps("  steps:\n  - {name: a, definition: {name: x, label: y=z}}\n  - {name: b, definition: {}}\n"),
		want: []string{`spec.steps[0].definition: both name and label are given`, `line 7: spec.steps[1].definition: the step runs no definition`},
	}, {
		name: "a label that is no selector",
		doc:  steps("  steps:\n  - {name: a, definition: {label: 'a=(b'}}\n"),
		want: []string{`spec.steps[0].definition.label: "a=(b" is not a label selector`},
	}, {
		name: "a step name used twice",
		doc:  steps("  steps:\n  - {name: a, definition: {name: x}}\n  onExit:\n  - {name: a, definition: {name: x}}\n"),
		want: []string{`line 8: spec.onExit[0].name: step "a" is given twice`},
	}, {
		name: "no steps, and bad values",
		doc:  steps("  steps: []\n  config: [{name: A, type: env}]\n"),
		want: []string{`spec.steps: the flow has no steps`, `spec.config[0]: no content`},
	}, {
		name: "a bad step name and timeout",
		doc:  steps("  steps:\n  - {name: Create_Env, definition: {name: x}, timeout: soon}\n"),
		want: []string{`spec.steps[0].name: "Create_Env" is not a valid step name`, `spec.steps[0].timeout: "soon" is not a positive duration`},
	}, {
		name: "kubeconfigs: a bad name, two sources, none",
		doc:  steps("  steps:\n  - {name: a, definition: {name: x}}\n  kubeconfigs:\n    seed.x: {file: a}\n    both: {file: a, secretKeyRef: {name: s, key: k}}\n    none: {}\n"),
		want: []string{`line 9: spec.kubeconfigs.both: give exactly one of file and secretKeyRef`, `line 10: spec.kubeconfigs.none: give exactly one`, `line 8: spec.kubeconfigs.seed.x: "seed.x" is not a valid kubeconfig name`},
	}, {
		name: "a typo",
		doc:  steps("  steps:\n  - {name: a, definition: {name: x}, depends: [b]}\n"),
		want: []string{`line 6: unknown field "depends" in spec.steps[0]`},
	}, {
		name: "a flow named badly",
		doc:  "apiVersion: testrun.dev/v1alpha1\nkind: TestFlow\nmetadata: {name: My Flow}\nspec: {steps: [{name: a, definition: {name: x}}]}\n",
		want: []string{`line 3: metadata.name: "My Flow" is not a valid name`},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFlow("f.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("ParseFlow accepted:\n%s", tc.doc)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

// A flow in .testrun/ is found by name beside the definitions; a flow in config.yaml is refused.
func TestDiscoverFindsFlows(t *testing.T) {
	local := fstestMap(map[string]string{
		"flow.yaml": validFlow,
		"x.yaml":    "apiVersion: testrun.dev/v1alpha1\nkind: TestDefinition\nmetadata: {name: x}\n",
	})
	c, err := Discover(local, ".testrun", fstestMap(nil))
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if f, err := c.FindFlow("integration"); err != nil || f.Source.File != ".testrun/flow.yaml" {
		t.Errorf("FindFlow(integration) = %v, %v; want the flow of .testrun/flow.yaml", f, err)
	}
	if _, err := c.FindFlow("nope"); err == nil || !strings.Contains(err.Error(), "the flows there are integration") {
		t.Errorf("FindFlow(nope) = %v, want an error naming the flows there", err)
	}
	if _, err := c.Find("x"); err != nil {
		t.Errorf("Find(x) beside a flow: %v", err)
	}
	_, err = Discover(fstestMap(map[string]string{"config.yaml": validFlow}), ".testrun", fstestMap(nil))
	if err == nil || !strings.Contains(err.Error(), "holds a TestFlow, but config.yaml is the global TestConfig: move the flow") {
		t.Errorf("a flow in config.yaml: error = %v", err)
	}
}

func fstestMap(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, data := range files {
		m[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return m
}
