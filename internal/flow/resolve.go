package flow

import (
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
)

// Unit is one run of a step: the step's definition with the step's overrides applied.
type Unit struct {
	// Step is the name of the step the run belongs to.
	Step string
	// Label prefixes the run's output lines and names it in the table: the step's name, or
	// "step/definition" for a step that runs several definitions.
	Label string
	// Definition is what the run runs, the step's overrides applied (see Apply).
	Definition *definition.Definition
	// Reports is the run's report directory relative to the flow's --reports directory: the step's name, or
	// "step/definition".
	Reports string
	// Serial keeps the run from running at the same time as any other run of the flow.
	Serial bool
	// Uploads are placed in the run's test container before its test starts, besides the flags' --upload.
	Uploads []runspec.Upload
}

// Step is one step of a Plan.
type Step struct {
	Name      string
	DependsOn []string
	// OnExit says the step runs after the flow's steps, when Condition holds.
	OnExit    bool
	Condition string
	// ContinueOnError lets the flow go on as if the step passed when it does not: the steps that depend on
	// it run, and it does not count for the onExit conditions or the exit code.
	ContinueOnError bool
	// SharedFrom is the label of the unit whose shared directory the step's runs start with in theirs, as
	// TestMachinery hands its shared folder on; "" for none.
	SharedFrom string
	// Units are the step's runs: one, or one per definition its label selector matched.
	Units []Unit
}

// Plan is a resolved flow: every step with what it runs, and the configuration every run gets.
type Plan struct {
	// Name is the flow's name.
	Name   string
	Steps  []Step
	OnExit []Step
	// Config is the global configuration of the runs: the repository's (.testrun/config.yaml), then the
	// flow's own spec.config, which wins for an entry of the same name.
	Config []definition.Config
}

// Resolve finds the definitions of every step of f in catalog and applies the steps' overrides. A step that
// names a definition that does not exist, or whose label selector matches none, is an error naming the
// file and the step's line: nothing may run when part of the flow cannot. read reads a kubeconfig file of
// the flow, given relative to the flow file's directory.
func Resolve(f *definition.Flow, catalog *definition.Catalog, read func(path string) ([]byte, error)) (*Plan, error) {
	kubeconfigs, err := kubeconfigEntries(f, read)
	if err != nil {
		return nil, err
	}
	p := &Plan{Name: f.Metadata.Name, Config: definition.MergeConfig(catalog.GlobalConfig(), slices.Concat(f.Spec.Config, kubeconfigs), nil)}
	var errs []string
	resolve := func(field string, steps []definition.Step, onExit bool) []Step {
		var out []Step
		for i, s := range steps {
			defs, err := find(catalog, s)
			if err != nil {
				errs = append(errs, definition.FlowFileError(f.Source.File, s.Line, "spec.%s[%d] (step %q): %v", field, i, s.Name, err).Error())
				continue
			}
			step := Step{Name: s.Name, DependsOn: s.DependsOn, OnExit: onExit, Condition: s.Condition}
			if onExit && step.Condition == "" {
				step.Condition = definition.ConditionAlways
			}
			for _, d := range defs {
				u := Unit{Step: s.Name, Label: s.Name, Reports: s.Name, Definition: Apply(d, s)}
				u.Definition.Spec.Labels = maps.Clone(u.Definition.Spec.Labels)
				if u.Definition.Spec.Labels == nil {
					u.Definition.Spec.Labels = map[string]string{}
				}
				u.Definition.Spec.Labels[definition.LabelFlow] = f.Metadata.Name
				u.Definition.Spec.Labels[definition.LabelStep] = s.Name
				if s.Definition.Label != "" {
					u.Label = s.Name + "/" + d.Metadata.Name
					u.Reports = path.Join(s.Name, d.Metadata.Name)
				}
				step.Units = append(step.Units, u)
			}
			out = append(out, step)
		}
		return out
	}
	p.Steps = resolve("steps", f.Spec.Steps, false)
	p.OnExit = resolve("onExit", f.Spec.OnExit, true)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return p, nil
}

// kubeconfigEntries are the configuration entries that mount the flow's kubeconfigs into every step, and
// the variable naming their directory.
func kubeconfigEntries(f *definition.Flow, read func(path string) ([]byte, error)) ([]definition.Config, error) {
	if len(f.Spec.Kubeconfigs) == 0 {
		return nil, nil
	}
	dir := definition.KubeconfigDir
	entries := []definition.Config{{Name: "TESTRUN_KUBECONFIG_DIR", Type: definition.ConfigEnv, Value: &dir}}
	for _, name := range slices.Sorted(maps.Keys(f.Spec.Kubeconfigs)) {
		k := f.Spec.Kubeconfigs[name]
		c := definition.Config{Name: definition.KubeconfigEntryName(name), Type: definition.ConfigFile, Path: path.Join(dir, name)}
		if k.SecretKeyRef != nil {
			c.ValueFrom = &definition.ValueFrom{SecretKeyRef: k.SecretKeyRef}
		} else {
			file := k.File
			if !filepath.IsAbs(file) && f.Source.File != "-" {
				file = filepath.Join(filepath.Dir(f.Source.File), file)
			}
			data, err := read(file)
			if err != nil {
				return nil, fmt.Errorf("flow %q: spec.kubeconfigs.%s: %w", f.Metadata.Name, name, err)
			}
			value := string(data)
			c.Value = &value
		}
		entries = append(entries, c)
	}
	return entries, nil
}

// find returns the definitions step s runs.
func find(catalog *definition.Catalog, s definition.Step) ([]*definition.Definition, error) {
	if s.Definition.Name != "" {
		return oneOf(catalog.Find(s.Definition.Name))
	}
	defs := catalog.Select(s.Definition.Selector())
	if len(defs) == 0 {
		return nil, fmt.Errorf("definition.label %q matches no definition in %s/ or among the shipped plugins: list them and their labels with kubectl testrun plugins", s.Definition.Label, definition.LocalDir)
	}
	return defs, nil
}

func oneOf(d *definition.Definition, err error) ([]*definition.Definition, error) {
	if err != nil {
		return nil, err
	}
	return []*definition.Definition{d}, nil
}

// Apply returns a copy of def with the values step s sets put over the definition's: the most specific
// wins. The step's image, args and timeout replace the definition's. An entry of the step's config replaces
// the definition's entry of the same name, which itself wins over --config, the flow's and the repository's
// configuration (see Plan.Config and definition.MergeConfig). A variable of the step's env wins over all of
// them (only --env wins over it): it becomes a literal entry of the step's own configuration, so that it
// replaces a variable of the same name in its place, whichever level set it.
func Apply(def *definition.Definition, s definition.Step) *definition.Definition {
	d := *def
	d.Spec.Args = slices.Clone(def.Spec.Args)
	if s.Image != "" {
		d.Spec.Image = s.Image
	}
	if len(s.Args) > 0 {
		d.Spec.Args = slices.Clone(s.Args)
	}
	if s.Timeout != "" {
		d.Spec.Timeout = s.Timeout
	}
	step := slices.Clone(s.Config)
	for _, e := range s.Env {
		step = append(step, definition.Config{Name: e.Name, Type: definition.ConfigEnv, Value: &e.Value})
	}
	d.Spec.Config = definition.MergeConfig(nil, def.Spec.Config, step)
	return &d
}
