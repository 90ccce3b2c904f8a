package flow

import (
	"path"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

const (
	// SharedDir is the directory of every step's test container whose files are handed to the steps that
	// depend on the step: an extra report directory of its runs, so it comes home with their reports.
	SharedDir = "/testrun/shared"
	// EnvSharedDir names SharedDir in every step's test container.
	EnvSharedDir = "TESTRUN_SHARED_DIR"
	// FromDir is the directory under which a step finds the shared directories of the steps it depends on,
	// each under its run's report path (Unit.Reports): FromDir/<step>, or FromDir/<step>/<definition> for
	// a step that ran several definitions.
	FromDir = "/testrun/from"
	// EnvFromDir names FromDir in the test container of a step that depends on others.
	EnvFromDir = "TESTRUN_FROM_DIR"
)

// Share gives spec, the run of a unit of step s, its shared directory: SharedDir as one more report
// directory, named by EnvSharedDir, and, when s depends on other steps, EnvFromDir.
func Share(spec *runspec.Spec, s Step) {
	// Fresh slices: the runs of a flow may share the ones the flags gave.
	spec.MoreReportDirs = append(slices.Clone(spec.MoreReportDirs), SharedDir)
	spec.Env = append(slices.Clone(spec.Env), corev1.EnvVar{Name: EnvSharedDir, Value: SharedDir})
	if len(s.DependsOn) > 0 {
		spec.Env = append(spec.Env, corev1.EnvVar{Name: EnvFromDir, Value: FromDir})
	}
}

// SharedLocal returns where the shared directory of a run comes home, given the local directory its
// reports come home to: each report directory lands under its own path there, so SharedDir lands at
// reports/testrun/shared.
func SharedLocal(reports string) string {
	return filepath.Join(reports, filepath.FromSlash(strings.TrimPrefix(SharedDir, "/")))
}

// HasDependents says whether a step (of Steps or of OnExit) depends on the step named name, or starts with
// the shared directory of one of its runs (Step.SharedFrom).
func (p *Plan) HasDependents(name string) bool {
	for _, s := range append(append([]Step(nil), p.Steps...), p.OnExit...) {
		for _, d := range s.DependsOn {
			if d == name {
				return true
			}
		}
		if from, ok := p.SharedFrom(s.Name); ok && from.Step == name {
			return true
		}
	}
	return false
}

// SharedFrom returns the run whose shared directory the runs of the step named name start with in theirs
// (Step.SharedFrom), and whether there is one.
func (p *Plan) SharedFrom(name string) (Unit, bool) {
	all := append(append([]Step(nil), p.Steps...), p.OnExit...)
	i := slices.IndexFunc(all, func(s Step) bool { return s.Name == name })
	if i < 0 || all[i].SharedFrom == "" {
		return Unit{}, false
	}
	for _, s := range all {
		for _, u := range s.Units {
			if u.Label == all[i].SharedFrom {
				return u, true
			}
		}
	}
	return Unit{}, false
}

// Inputs returns the runs whose shared directories a run of the step named name receives: every unit of
// each step it depends on, in the order of its dependsOn.
func (p *Plan) Inputs(name string) []Unit {
	steps := map[string]Step{}
	for _, s := range append(append([]Step(nil), p.Steps...), p.OnExit...) {
		steps[s.Name] = s
	}
	var units []Unit
	for _, d := range steps[name].DependsOn {
		units = append(units, steps[d].Units...)
	}
	return units
}

// Receive adds to spec one upload for each of inputs (see Inputs): the local copy of that run's shared
// directory, local(unit), placed at FromDir/<unit.Reports> before the test starts.
func Receive(spec *runspec.Spec, inputs []Unit, local func(Unit) string) {
	spec.Uploads = slices.Clone(spec.Uploads)
	for _, u := range inputs {
		spec.Uploads = append(spec.Uploads, runspec.Upload{Local: local(u), Path: path.Join(FromDir, u.Reports)})
	}
}
