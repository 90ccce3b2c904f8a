package run

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/internal/flow"
	"github.com/kubectl-testrun/kubectl-testrun/internal/plan"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// The run of a step that others depend on brings its reports home even without --reports (its shared
// directory must come home to be handed on); the run of a dependent step uploads the shared directory of
// the step it depends on from where it comes home, which exists even when that step wrote nothing; a step
// that depends on nothing gets nothing.
func TestStepRunHandsTheSharedDirectoryOn(t *testing.T) {
	p := &flow.Plan{Name: "f", Steps: []flow.Step{
		{Name: "a", Units: []flow.Unit{{Step: "a", Label: "a", Reports: "a"}}},
		{Name: "b", DependsOn: []string{"a"}, Units: []flow.Unit{{Step: "b", Label: "b", Reports: "b"}}},
		{Name: "c", Units: []flow.Unit{{Step: "c", Label: "c", Reports: "c"}}},
	}}
	f := &flowState{plan: p, runs: map[string]plan.Run{}}
	for _, s := range p.Steps {
		r := plan.Run{Spec: runspec.Spec{Name: s.Name + "-x"}}
		flow.Share(&r.Spec, s)
		f.runs[s.Name] = r
	}
	tmp := t.TempDir()
	local := func(u flow.Unit) string { return filepath.Join(tmp, u.Reports) }
	type view struct {
		Reports string
		Uploads []runspec.Upload
	}
	got := map[string]view{}
	for _, s := range p.Steps {
		r, err := f.stepRun(s.Units[0], local)
		if err != nil {
			t.Fatalf("stepRun(%s): %v", s.Name, err)
		}
		got[s.Name] = view{r.Reports, r.Spec.Uploads}
	}
	want := map[string]view{
		"a": {Reports: filepath.Join(tmp, "a")},
		"b": {Uploads: []runspec.Upload{{Local: filepath.Join(tmp, "a", "testrun", "shared"), Path: "/testrun/from/a"}}},
		"c": {},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	if info, err := os.Stat(filepath.Join(tmp, "a", "testrun", "shared")); err != nil || !info.IsDir() {
		t.Errorf("the shared directory b receives was not made ready: %v", err)
	}
	if len(f.runs["b"].Spec.Uploads) != 0 {
		t.Errorf("stepRun changed the planned run: %v", f.runs["b"].Spec.Uploads)
	}
}
