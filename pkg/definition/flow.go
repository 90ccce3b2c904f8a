package definition

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// KindFlow is the kind of a test flow: a graph of steps, each a run of a definition.
const KindFlow = "TestFlow"

// The labels a flow's runs carry besides a run's own, so that list -l and logs -l find them.
const (
	// LabelFlow names the flow a run belongs to.
	LabelFlow = "testrun.dev/flow"
	// LabelStep names the step of the flow a run belongs to.
	LabelStep = "testrun.dev/step"
)

// The conditions of an onExit step.
const (
	// ConditionAlways runs the step whatever the outcome of the flow's steps, also after an interrupt.
	ConditionAlways = "always"
	// ConditionSuccess runs the step when every step of the flow passed.
	ConditionSuccess = "success"
	// ConditionError runs the step when a step of the flow did not pass (failed, could not run, timed out).
	ConditionError = "error"
)

// Flow is one TestFlow document: steps that run definitions, ordered by their dependencies, and the steps
// that run once they are over (onExit). The format is documented in docs/flows.md.
type Flow struct {
	// APIVersion must be APIVersion.
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Kind must be KindFlow.
	Kind string `yaml:"kind" json:"kind"`
	// Metadata names the flow; its runs carry the name as the label testrun.dev/flow.
	Metadata Metadata `yaml:"metadata" json:"metadata"`
	// Spec holds the steps.
	Spec FlowSpec `yaml:"spec" json:"spec"`

	// Source says where the flow was found; it is not part of the document.
	Source Source `yaml:"-" json:"-"`
}

// FlowSpec is the configuration every step gets, the steps, and the steps run at the end.
type FlowSpec struct {
	// Config entries reach every step, below the definition's and the step's own entries of the same name.
	Config []Config `yaml:"config,omitempty" json:"config,omitempty"`
	// Kubeconfigs are mounted into every step at KubeconfigDir/<name>, the directory exported as
	// TESTRUN_KUBECONFIG_DIR, each file also as the variable KUBECONFIG_<NAME>.
	Kubeconfigs map[string]Kubeconfig `yaml:"kubeconfigs,omitempty" json:"kubeconfigs,omitempty"`
	// Steps run as soon as the steps they depend on passed.
	Steps []Step `yaml:"steps" json:"steps"`
	// OnExit steps run after Steps are over, each when its condition holds.
	OnExit []Step `yaml:"onExit,omitempty" json:"onExit,omitempty"`
}

// Step is one step of a flow: a run of a definition (or one run each of every definition a label selector
// matches), with overrides of the definition's values.
type Step struct {
	// Name identifies the step in dependsOn, in the output and in the report directory: a DNS label.
	Name string `yaml:"name" json:"name"`
	// Definition chooses what the step runs.
	Definition StepDefinition `yaml:"definition" json:"definition"`
	// Image replaces the definition's image (a shipped plugin names none).
	Image string `yaml:"image,omitempty" json:"image,omitempty"`
	// Args replace the definition's args.
	Args []string `yaml:"args,omitempty" json:"args,omitempty"`
	// Env are variables set over the definition's (a variable of the same name is replaced in its place).
	Env []EnvVar `yaml:"env,omitempty" json:"env,omitempty"`
	// Config entries win over the definition's and the flow's entries of the same name.
	Config []Config `yaml:"config,omitempty" json:"config,omitempty"`
	// Timeout replaces the definition's timeout, as a Go duration.
	Timeout string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// DependsOn names the steps that must pass before this one starts; onExit steps name onExit steps.
	DependsOn []string `yaml:"dependsOn,omitempty" json:"dependsOn,omitempty"`
	// Condition says when an onExit step runs: always (the default), success or error. Steps have none.
	Condition string `yaml:"condition,omitempty" json:"condition,omitempty"`

	// Line is where the step starts in its file, for errors found after parsing; not part of the document.
	Line int `yaml:"-" json:"-"`
}

// KubeconfigDir is where a flow's kubeconfigs are mounted in every step.
const KubeconfigDir = "/testrun/kubeconfigs"

// Kubeconfig is where one kubeconfig of a flow comes from: exactly one of File and SecretKeyRef.
type Kubeconfig struct {
	// File is a file on the client, relative to the flow file's directory; its content travels in the pod's
	// annotations as a literal configuration file does (docs/definitions.md), so keep secrets in Secrets.
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// SecretKeyRef takes the kubeconfig from a key of a Secret in the runs' namespace.
	SecretKeyRef *KeyRef `yaml:"secretKeyRef,omitempty" json:"secretKeyRef,omitempty"`
}

// KubeconfigEntryName is the name of the configuration entry that mounts the flow's kubeconfig name.
func KubeconfigEntryName(name string) string { return "kubeconfig." + name }

// StepDefinition chooses the definitions a step runs: exactly one of Name and Label.
type StepDefinition struct {
	// Name is a definition of .testrun/ or a shipped plugin, as --definition finds it.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Label is a label selector over the definitions' metadata.labels (e.g. "suite=smoke,!beta"); the step
	// runs every definition it matches, in parallel.
	Label string `yaml:"label,omitempty" json:"label,omitempty"`
}

// ParseFlow reads one TestFlow document from data, as strictly as Parse: unknown fields, wrong types, bad
// values, unknown step names in dependsOn and dependency cycles are errors naming the file, the line and
// the field. Whether the definitions exist is checked when the flow is resolved against a catalog.
func ParseFlow(file string, data []byte) (*Flow, error) {
	var f Flow
	root, err := decode(file, data, &f)
	if err != nil {
		return nil, err
	}
	if err := locate(file, root, f.validate()); err != nil {
		return nil, err
	}
	for i := range f.Spec.Steps {
		f.Spec.Steps[i].Line = lineOf(root, []any{"spec", "steps", i})
	}
	for i := range f.Spec.OnExit {
		f.Spec.OnExit[i].Line = lineOf(root, []any{"spec", "onExit", i})
	}
	f.Source = Source{Origin: OriginFile, File: file}
	return &f, nil
}

// TimeoutDuration returns the step's parsed timeout; 0 when it sets none. ParseFlow has checked it.
func (s *Step) TimeoutDuration() time.Duration {
	t, err := time.ParseDuration(s.Timeout)
	if err != nil {
		return 0
	}
	return t
}

// Selector returns the parsed label selector of a step that chooses by label; ParseFlow has checked it.
func (d StepDefinition) Selector() labels.Selector {
	s, err := labels.Parse(d.Label)
	if err != nil {
		return labels.Nothing()
	}
	return s
}

// FlowFileError is an error at a line of a flow's file, for what is found wrong after parsing (a definition
// that does not exist).
func FlowFileError(file string, line int, format string, args ...any) error {
	return fileError(file, line, format, args...)
}

func (f *Flow) validate() problems {
	var ps problems
	checkHead(&ps, f.APIVersion, f.Kind, KindFlow)
	if name := f.Metadata.Name; name == "" {
		ps.add([]any{"metadata", "name"}, "the name is missing: give the flow a name such as \"integration\"")
	} else if len(content.IsLabelValue(name)) != 0 || len(content.IsDNS1123Label(name)) != 0 {
		ps.add([]any{"metadata", "name"}, "%q is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", name)
	}
	checkLabels(&ps, []any{"metadata", "labels"}, f.Metadata.Labels, false)
	checkConfig(&ps, []any{"spec", "config"}, f.Spec.Config)
	for _, name := range slices.Sorted(maps.Keys(f.Spec.Kubeconfigs)) {
		k, at := f.Spec.Kubeconfigs[name], []any{"spec", "kubeconfigs", name}
		entry := KubeconfigEntryName(name)
		switch {
		case len(entry) > maxConfigNameLength || !configName.MatchString(entry) || strings.Contains(name, "."):
			ps.add(at, "%q is not a valid kubeconfig name: use at most %d letters, digits, '_' and '-', starting and ending with a letter or digit", name, maxConfigNameLength-len("kubeconfig."))
		case (k.File == "") == (k.SecretKeyRef == nil):
			ps.add(at, "give exactly one of file and secretKeyRef")
		case k.SecretKeyRef != nil:
			checkKeyRef(&ps, append(slices.Clone(at), "secretKeyRef"), *k.SecretKeyRef, "Secret")
		}
	}
	if len(f.Spec.Steps) == 0 {
		ps.add([]any{"spec", "steps"}, "the flow has no steps: give at least one step with a name and a definition")
	}
	names := map[string]bool{}
	for _, list := range []struct {
		field  string
		steps  []Step
		onExit bool
	}{{"steps", f.Spec.Steps, false}, {"onExit", f.Spec.OnExit, true}} {
		known := map[string]bool{}
		for _, s := range list.steps {
			known[s.Name] = true
		}
		for i, s := range list.steps {
			at := []any{"spec", list.field, i}
			if s.Name != "" && names[s.Name] {
				ps.add(append(slices.Clone(at), "name"), "step %q is given twice: step names are unique across steps and onExit", s.Name)
			}
			names[s.Name] = true
			s.validate(&ps, at, list.onExit, known)
		}
		checkCycles(&ps, list.field, list.steps)
	}
	return ps
}

// validate checks one step; known are the names its dependsOn may use.
func (s *Step) validate(ps *problems, at []any, onExit bool, known map[string]bool) {
	p := func(elem ...any) []any { return append(slices.Clone(at), elem...) }
	switch {
	case s.Name == "":
		ps.add(p("name"), "the step has no name: give it one such as \"create-env\"")
	case len(s.Name) > runspec.MaxRunNameBaseLength || len(content.IsDNS1123Label(s.Name)) != 0:
		ps.add(p("name"), "%q is not a valid step name: use at most %d lowercase letters, digits and '-', starting and ending with a letter or digit", s.Name, runspec.MaxRunNameBaseLength)
	}
	switch d := s.Definition; {
	case d.Name == "" && d.Label == "":
		ps.add(p("definition"), "the step runs no definition: give definition.name or definition.label")
	case d.Name != "" && d.Label != "":
		ps.add(p("definition"), "both name and label are given: give one of them")
	case d.Label != "":
		if _, err := labels.Parse(d.Label); err != nil {
			ps.add(p("definition", "label"), "%q is not a label selector (e.g. suite=smoke,!beta): %v", d.Label, err)
		}
	}
	if strings.ContainsFunc(s.Image, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) {
		ps.add(p("image"), "image %q contains whitespace", s.Image)
	}
	seenEnv := map[string]bool{}
	for i, e := range s.Env {
		switch {
		case e.Name == "":
			ps.add(p("env", i, "name"), "the variable has no name")
		case strings.ContainsAny(e.Name, "= \t\n"):
			ps.add(p("env", i, "name"), "%q is not a variable name: no '=' or whitespace", e.Name)
		case seenEnv[e.Name]:
			ps.add(p("env", i, "name"), "variable %q is set twice: keep one", e.Name)
		}
		seenEnv[e.Name] = true
	}
	checkConfig(ps, p("config"), s.Config)
	if s.Timeout != "" {
		if t, err := time.ParseDuration(s.Timeout); err != nil || t <= 0 {
			ps.add(p("timeout"), "%q is not a positive duration: use Go syntax such as 30m or 1h30m", s.Timeout)
		}
	}
	for i, dep := range s.DependsOn {
		switch {
		case dep == s.Name:
			ps.add(p("dependsOn", i), "step %q depends on itself: remove it from its own dependsOn", dep)
		case !known[dep] && onExit:
			ps.add(p("dependsOn", i), "no onExit step is named %q: an onExit step depends only on onExit steps (they all start after the steps ended)", dep)
		case !known[dep]:
			ps.add(p("dependsOn", i), "no step is named %q: name one of the flow's steps", dep)
		}
	}
	switch {
	case !onExit && s.Condition != "":
		ps.add(p("condition"), "only an onExit step has a condition: move the step to onExit, or remove condition")
	case onExit:
		switch s.Condition {
		case "", ConditionAlways, ConditionSuccess, ConditionError:
		default:
			ps.add(p("condition"), "condition %q is not always, success or error", s.Condition)
		}
	}
}

// checkCycles reports every dependency cycle among steps, once, at the step where it is first entered.
func checkCycles(ps *problems, field string, steps []Step) {
	index := map[string]int{}
	for i, s := range steps {
		index[s.Name] = i
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(steps))
	var path []string
	var visit func(i int)
	visit = func(i int) {
		state[i] = onPath
		path = append(path, steps[i].Name)
		for _, dep := range steps[i].DependsOn {
			j, ok := index[dep]
			if !ok || dep == steps[i].Name {
				continue // reported by validate
			}
			switch state[j] {
			case unseen:
				visit(j)
			case onPath:
				start := slices.Index(path, dep)
				cycle := append(slices.Clone(path[start:]), dep)
				ps.add([]any{"spec", field, j, "dependsOn"}, "the steps depend on each other in a cycle (%s, each depending on the next): none of them could ever start; remove one of these dependencies", strings.Join(cycle, " → "))
			}
		}
		path = path[:len(path)-1]
		state[i] = done
	}
	for i := range steps {
		if state[i] == unseen {
			visit(i)
		}
	}
}

// String names the step's definition choice as the document gives it.
func (d StepDefinition) String() string {
	if d.Name != "" {
		return fmt.Sprintf("definition %q", d.Name)
	}
	return fmt.Sprintf("label %q", d.Label)
}
