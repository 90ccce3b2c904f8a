package flow

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-testrun/kubectl-testrun/internal/plan"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
)

func entry(name, value string) definition.Config {
	return definition.Config{Name: name, Type: definition.ConfigEnv, Value: &value}
}

func def(name string, labels map[string]string) *definition.Definition {
	return &definition.Definition{Metadata: definition.Metadata{Name: name, Labels: labels},
		Spec: definition.Spec{Image: "img:" + name, Args: []string{"def"}, Timeout: "10m",
			Env: []definition.EnvVar{{Name: "A", Value: "def"}, {Name: "B", Value: "$(A)"}}}}
}

func catalog() *definition.Catalog {
	return &definition.Catalog{
		Local: []*definition.Definition{
			def("api", map[string]string{"suite": "smoke"}),
			def("ui", map[string]string{"suite": "smoke", "beta": "true"}),
			def("load", map[string]string{"suite": "nightly"}),
		},
		Config: &definition.TestConfig{Spec: definition.ConfigSpec{Config: []definition.Config{entry("LEVEL", "repo"), entry("REPO", "repo")}}},
	}
}

func parse(t *testing.T, doc string) *definition.Flow {
	t.Helper()
	f, err := definition.ParseFlow("flow.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("ParseFlow: %v", err)
	}
	return f
}

func TestResolveFansOutALabelWithExclusion(t *testing.T) {
	p, err := Resolve(parse(t, `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: f}
spec:
  steps:
  - {name: smoke, definition: {label: "suite=smoke,!beta"}}
  - {name: all, definition: {label: "suite in (smoke,nightly)"}, dependsOn: [smoke]}
  onExit:
  - {name: last, definition: {name: load}}
`), catalog(), nil)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	var got [][]string
	for _, s := range append(p.Steps, p.OnExit...) {
		var units []string
		for _, u := range s.Units {
			units = append(units, u.Label+" "+u.Reports+" "+u.Definition.Metadata.Name+" "+u.Definition.Spec.Labels[definition.LabelStep])
		}
		got = append(got, units)
	}
	want := [][]string{
		{"smoke/api smoke/api api smoke"},
		{"all/api all/api api all", "all/ui all/ui ui all", "all/load all/load load all"},
		{"last last load last"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
	if p.OnExit[0].Condition != definition.ConditionAlways {
		t.Errorf("an onExit step without condition has %q, want always", p.OnExit[0].Condition)
	}
}

// Every step whose definition does not exist is refused at once, naming the file and the step's line.
func TestResolveRefusesUnknownDefinitions(t *testing.T) {
	_, err := Resolve(parse(t, `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: f}
spec:
  steps:
  - {name: a, definition: {name: nope}}
  - {name: b, definition: {label: "suite=none"}}
`), catalog(), nil)
	for _, want := range []string{`definition file "flow.yaml": line 6: spec.steps[0] (step "a"): no definition named "nope"`,
		`line 7: spec.steps[1] (step "b"): definition.label "suite=none" matches no definition`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want one containing %q", err, want)
		}
	}
}

// Configuration at every level, the most specific winning: the repository's config.yaml, the flow's
// spec.config, --config, the definition's spec.config, the step's config and env (a variable of the step
// wins over an entry of any level, in that entry's place), and --env over everything.
// Values a step sets (image, args, timeout, env) replace the definition's; the definition's stand otherwise.
func TestStepPrecedence(t *testing.T) {
	d := def("api", nil)
	d.Spec.Config = []definition.Config{entry("LEVEL", "definition"), entry("DEF", "definition")}
	flowDoc := parse(t, `apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: f}
spec:
  config:
  - {name: LEVEL, type: env, value: flow}
  - {name: FLOW, type: env, value: flow}
  - {name: REPO, type: env, value: flow}
  steps:
  - name: plain
    definition: {name: api}
  - name: step
    definition: {name: api}
    image: img:step
    args: [step]
    timeout: 1m
    env: [{name: A, value: step}, {name: C, value: step}, {name: FLOW, value: step}]
    config:
    - {name: LEVEL, type: env, value: step}
`)
	c := catalog()
	c.Local[0] = d
	p, err := Resolve(flowDoc, c, nil)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	type view struct {
		Image   string
		Args    []string
		Timeout string
		Env     map[string]string
		Order   []string
	}
	see := func(u Unit, flags plan.Flags) view {
		r := plan.Plan(plan.Input{Definition: u.Definition, Name: "x", Global: p.Config, Flags: flags})
		v := view{Image: r.Spec.Image, Args: r.Spec.Args, Timeout: r.Spec.Timeout.String(), Env: map[string]string{}}
		for _, e := range r.Spec.Env {
			v.Env[e.Name] = e.Value
			v.Order = append(v.Order, e.Name)
		}
		return v
	}
	cli := plan.Flags{Config: []definition.Config{entry("LEVEL", "flag"), entry("CLI", "flag"), entry("FLOW", "flag")}}
	tests := []struct {
		name  string
		unit  Unit
		flags plan.Flags
		want  view
	}{{
		name: "the definition, the flow and the repository",
		unit: p.Steps[0].Units[0],
		want: view{Image: "img:api", Args: []string{"def"}, Timeout: "10m0s",
			Env:   map[string]string{"A": "def", "B": "$(A)", "LEVEL": "definition", "REPO": "flow", "FLOW": "flow", "DEF": "definition"},
			Order: []string{"A", "B", "LEVEL", "REPO", "FLOW", "DEF"}},
	}, {
		name:  "--config over the flow, the definition over --config",
		unit:  p.Steps[0].Units[0],
		flags: cli,
		want: view{Image: "img:api", Args: []string{"def"}, Timeout: "10m0s",
			Env:   map[string]string{"A": "def", "B": "$(A)", "LEVEL": "definition", "REPO": "flow", "FLOW": "flag", "CLI": "flag", "DEF": "definition"},
			Order: []string{"A", "B", "LEVEL", "REPO", "FLOW", "CLI", "DEF"}},
	}, {
		name:  "the step over the definition",
		unit:  p.Steps[1].Units[0],
		flags: cli,
		want: view{Image: "img:step", Args: []string{"step"}, Timeout: "1m0s",
			Env:   map[string]string{"A": "step", "B": "$(A)", "C": "step", "LEVEL": "step", "REPO": "flow", "FLOW": "step", "CLI": "flag", "DEF": "definition"},
			Order: []string{"A", "B", "LEVEL", "REPO", "FLOW", "CLI", "DEF", "C"}},
	}, {
		name:  "--env over the step",
		unit:  p.Steps[1].Units[0],
		flags: plan.Flags{Env: []corev1.EnvVar{{Name: "LEVEL", Value: "env"}, {Name: "A", Value: "env"}}},
		want: view{Image: "img:step", Args: []string{"step"}, Timeout: "1m0s",
			Env:   map[string]string{"A": "env", "B": "$(A)", "C": "step", "LEVEL": "env", "REPO": "flow", "FLOW": "step", "DEF": "definition"},
			Order: []string{"A", "B", "LEVEL", "REPO", "FLOW", "DEF", "C"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, see(tc.unit, tc.flags)); diff != "" {
				t.Errorf("run (-want +got):\n%s", diff)
			}
		})
	}
	if d.Spec.Args[0] != "def" || d.Spec.Env[0].Value != "def" || len(d.Spec.Config) != 2 || d.Spec.Image != "img:api" {
		t.Errorf("Apply changed the catalog's definition: %+v", d.Spec)
	}
}

// A flow's kubeconfigs reach every step as files under one directory, named by TESTRUN_KUBECONFIG_DIR, each
// also by its own variable; a file is read relative to the flow file, a Secret is mounted from the cluster.
func TestResolveMountsTheKubeconfigs(t *testing.T) {
	f, err := definition.ParseFlow("ci/flow.yaml", []byte(`apiVersion: testrun.dev/v1alpha1
kind: TestFlow
metadata: {name: f}
spec:
  kubeconfigs:
    shoot: {file: shoot.kubeconfig}
    seed: {secretKeyRef: {name: seed, key: kubeconfig}}
  steps:
  - {name: a, definition: {name: api}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	p, err := Resolve(f, catalog(), func(path string) ([]byte, error) { read = append(read, path); return []byte("apiVersion: v1"), nil })
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	r := plan.Plan(plan.Input{Definition: p.Steps[0].Units[0].Definition, Name: "x", Global: p.Config})
	env := map[string]string{}
	for _, e := range r.Spec.Env {
		env[e.Name] = e.Value
	}
	files := map[string]string{}
	for _, f := range r.Spec.Files {
		files[f.Path] = f.Value
		if f.SecretKeyRef != nil {
			files[f.Path] = "secret " + f.SecretKeyRef.Name + "/" + f.SecretKeyRef.Key
		}
	}
	if diff := cmp.Diff(map[string]string{"/testrun/kubeconfigs/seed": "secret seed/kubeconfig", "/testrun/kubeconfigs/shoot": "apiVersion: v1"}, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for name, want := range map[string]string{"TESTRUN_KUBECONFIG_DIR": "/testrun/kubeconfigs", "KUBECONFIG_SEED": "/testrun/kubeconfigs/seed", "KUBECONFIG_SHOOT": "/testrun/kubeconfigs/shoot"} {
		if env[name] != want {
			t.Errorf("$%s = %q, want %q", name, env[name], want)
		}
	}
	if diff := cmp.Diff([]string{"ci/shoot.kubeconfig"}, read); diff != "" {
		t.Errorf("files read (-want +got):\n%s", diff)
	}
}
