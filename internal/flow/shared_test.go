package flow

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// sharedPlan: a; b depends on a; c on nothing; fan runs two definitions; d depends on a and fan.
func sharedPlan() *Plan {
	unit := func(step, label, reports string) Unit { return Unit{Step: step, Label: label, Reports: reports} }
	return &Plan{Name: "f", Steps: []Step{
		{Name: "a", Units: []Unit{unit("a", "a", "a")}},
		{Name: "b", DependsOn: []string{"a"}, Units: []Unit{unit("b", "b", "b")}},
		{Name: "c", Units: []Unit{unit("c", "c", "c")}},
		{Name: "fan", Units: []Unit{unit("fan", "fan/x", "fan/x"), unit("fan", "fan/y", "fan/y")}},
		{Name: "d", DependsOn: []string{"a", "fan"}, Units: []Unit{unit("d", "d", "d")}},
	}, OnExit: []Step{{Name: "clean", OnExit: true, Units: []Unit{unit("clean", "clean", "clean")}}}}
}

// Every step writes its shared directory as one more report directory; a step that depends on others
// receives each of their runs' shared directories under FromDir, named after the run's report path, and
// no other step's.
func TestSharedSpecs(t *testing.T) {
	p := sharedPlan()
	local := func(u Unit) string { return filepath.Join("/out", u.Reports, "testrun", "shared") }
	type view struct {
		ReportDirs string
		Env        map[string]string
		Init       int
		Mounts     map[string]string
		Uploads    []runspec.Upload
	}
	got := map[string]view{}
	for _, s := range append(p.Steps, p.OnExit...) {
		spec := runspec.Spec{Name: s.Name + "-x", Namespace: "ns", Image: "img", MoreReportDirs: []string{"/cover"}}
		Share(&spec, s)
		Receive(&spec, p.Inputs(s.Name), local)
		job := runspec.BuildJob(spec)
		pod := job.Spec.Template
		env, mounts := map[string]string{}, map[string]string{}
		for _, e := range pod.Spec.Containers[0].Env {
			if e.Name == EnvSharedDir || e.Name == EnvFromDir {
				env[e.Name] = e.Value
			}
		}
		for _, m := range pod.Spec.Containers[0].VolumeMounts {
			if m.Name == runspec.UploadVolume || m.MountPath == SharedDir {
				mounts[m.MountPath] = m.Name + "/" + m.SubPath
			}
		}
		got[s.Name] = view{pod.Annotations[runspec.AnnotationReportDirs], env, len(pod.Spec.InitContainers), mounts, spec.Uploads}
	}
	own := func(from bool) map[string]string {
		env := map[string]string{"TESTRUN_SHARED_DIR": "/testrun/shared"}
		if from {
			env["TESTRUN_FROM_DIR"] = "/testrun/from"
		}
		return env
	}
	dirs := "/reports,/cover,/testrun/shared"
	alone := view{dirs, own(false), 0, map[string]string{"/testrun/shared": runspec.ReportsVolume + "/2"}, nil}
	want := map[string]view{
		"a": alone, "c": alone, "fan": alone, "clean": alone,
		"b": {dirs, own(true), 1, map[string]string{"/testrun/shared": runspec.ReportsVolume + "/2", "/testrun/from/a": "testrun-upload/0"},
			[]runspec.Upload{{Local: "/out/a/testrun/shared", Path: "/testrun/from/a"}}},
		"d": {dirs, own(true), 1, map[string]string{"/testrun/shared": runspec.ReportsVolume + "/2", "/testrun/from/a": "testrun-upload/0",
			"/testrun/from/fan/x": "testrun-upload/1", "/testrun/from/fan/y": "testrun-upload/2"},
			[]runspec.Upload{{Local: "/out/a/testrun/shared", Path: "/testrun/from/a"},
				{Local: "/out/fan/x/testrun/shared", Path: "/testrun/from/fan/x"}, {Local: "/out/fan/y/testrun/shared", Path: "/testrun/from/fan/y"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("specs (-want +got):\n%s", diff)
	}
}

// Share and Receive give each run fresh slices: runs planned from the same flags (--upload, --report-dir)
// do not write into each other's.
func TestSharedDoesNotAliasTheFlagsSlices(t *testing.T) {
	uploads := make([]runspec.Upload, 1, 4)
	uploads[0] = runspec.Upload{Local: "suite", Path: "/work"}
	dirs := make([]string, 1, 4)
	dirs[0] = "/cover"
	a := runspec.Spec{MoreReportDirs: dirs, Uploads: uploads}
	b := a
	local := func(u Unit) string { return u.Reports }
	Share(&a, Step{Name: "a"})
	Receive(&a, []Unit{{Reports: "x"}}, local)
	b.MoreReportDirs = append(b.MoreReportDirs, "/other")
	Share(&b, Step{Name: "b"})
	Receive(&b, []Unit{{Reports: "y"}}, local)
	if diff := cmp.Diff([]runspec.Upload{uploads[0], {Local: "x", Path: "/testrun/from/x"}}, a.Uploads); diff != "" {
		t.Errorf("a's uploads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/cover", SharedDir}, a.MoreReportDirs); diff != "" {
		t.Errorf("a's report dirs (-want +got):\n%s", diff)
	}
}

func TestDependents(t *testing.T) {
	p := sharedPlan()
	got := map[string]bool{}
	for _, s := range append(p.Steps, p.OnExit...) {
		got[s.Name] = p.HasDependents(s.Name)
	}
	want := map[string]bool{"a": true, "b": false, "c": false, "fan": true, "d": false, "clean": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HasDependents (-want +got):\n%s", diff)
	}
	if got, want := SharedLocal(filepath.Join("out", "a")), filepath.Join("out", "a", "testrun", "shared"); got != want {
		t.Errorf("SharedLocal = %q, want %q", got, want)
	}
}
