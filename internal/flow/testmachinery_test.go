package flow

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
)

// tmRepo is a location holding .test-defs/, as the client's disk.
func tmRepo(files map[string]string) TMDisk {
	m := fstest.MapFS{}
	for name, data := range files {
		m[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return TMDisk{
		ReadFile: func(name string) ([]byte, error) { return fs.ReadFile(m, filepath.ToSlash(name)) },
		ReadDir:  func(name string) ([]fs.DirEntry, error) { return fs.ReadDir(m, filepath.ToSlash(name)) },
	}
}

func tmDef(name, spec string) string {
	return "kind: TestDefinition\nmetadata: {name: " + name + "}\nspec:\n  command: [sh]\n" + spec
}

// unitView is what a test checks of a resolved run.
type unitView struct {
	Serial  bool
	Config  map[string]string // name → value, or "secret:NAME/KEY"
	Env     map[string]string // the TM_* and file path variables
	Uploads []runspec.Upload
}

func viewOf(u Unit) unitView {
	v := unitView{Serial: u.Serial, Config: map[string]string{}, Env: map[string]string{}, Uploads: u.Uploads}
	for _, c := range u.Definition.Spec.Config {
		switch {
		case c.Value != nil:
			v.Config[c.Name] = *c.Value
		case c.ValueFrom.SecretKeyRef != nil:
			v.Config[c.Name] = "secret:" + c.ValueFrom.SecretKeyRef.Name + "/" + c.ValueFrom.SecretKeyRef.Key
		}
	}
	for _, e := range u.Definition.Spec.Env {
		if e.Name != EnvTMGitSHA && e.Name != EnvTMGitRef && e.Name != EnvTMRepoPath && e.Name != EnvTMKubeconfig && e.Name != EnvTMExportPath && e.Name != EnvTMSharedPath {
			v.Env[e.Name] = e.Value
		}
	}
	return v
}

// A Testrun resolves the TestMachinery way: steps choose TestDefinitions by name or label expression; the
// configuration is merged step over shared (the non-private step configuration of the steps every path
// goes through) over global over definition; file values are decoded and their paths exported under the
// entry's own name; kubeconfigs are files in TM_KUBECONFIG_PATH (only the shoot's for an untrusted step);
// serial and disruptive definitions run alone, and a disruptive one never continues on error; onExit steps
// default to always and run in phase Exit.
func TestResolveTestrun(t *testing.T) {
	disk := tmRepo(map[string]string{
		"repo/.test-defs/a.yaml": tmDef("a", `  config:
  - {type: env, name: LEVEL, value: definition}
  - {type: env, name: DEF_ONLY, value: d}
  - {type: file, name: greeting, path: /tmp/greeting, value: aGk=}
`),
		"repo/.test-defs/b.yaml":    tmDef("b", "  labels: [default]\n  behavior: [serial]\n"),
		"repo/.test-defs/c.yaml":    tmDef("c", "  labels: [default, beta]\n"),
		"repo/.test-defs/d.yml":     tmDef("d", "  labels: [default]\n  behavior: [disruptive]\n"),
		"repo/.test-defs/ours.yaml": "apiVersion: testrun.dev/v1alpha1\nkind: TestDefinition\nmetadata: {name: ours}\n",
		"repo/.test-defs/README.md": "not a definition",
	})
	tr, err := definition.ParseTestrun("repo/testrun.yaml", []byte(`apiVersion: testmachinery.sapcloud.io/v1beta1
kind: Testrun
metadata: {name: it}
spec:
  kubeconfigs:
    shoot: c2hvb3Q=
    seed: {secretKeyRef: {name: seed, key: kubeconfig}}
  config:
  - {type: env, name: LEVEL, value: global}
  - {type: env, name: GLOBAL_ONLY, value: g}
  testflow:
  - name: setup
    definition:
      name: a
      config:
      - {type: env, name: LEVEL, value: setup-step}
      - {type: env, name: SHARED, value: from-setup}
      - {type: env, name: SECRET, value: s, private: true}
  - name: tests
    dependsOn: [setup]
    definition:
      label: default,!beta
      continueOnError: true
      config: [{type: env, name: LEVEL, value: step}]
  - name: check
    dependsOn: [setup]
    definition: {name: a, untrusted: true}
  onExit:
  - name: cleanup
    definition: {name: a}
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ResolveTestrun(tr, "it", disk)
	if err != nil {
		t.Fatal(err)
	}
	src := []runspec.Upload{{Local: "repo", Path: "/src", Skip: []string{".git"}}}
	kube := map[string]string{"kubeconfig.shoot": "shoot", "kubeconfig.seed": "secret:seed/kubeconfig"}
	with := func(m map[string]string, more map[string]string) map[string]string {
		out := map[string]string{}
		for _, x := range []map[string]string{m, more} {
			for k, v := range x {
				out[k] = v
			}
		}
		return out
	}
	aConfig := map[string]string{"DEF_ONLY": "d", "greeting": "hi", "GLOBAL_ONLY": "g"}
	running := map[string]string{EnvTMTestrunID: "it", EnvTMPhase: "Running"}
	want := map[string]unitView{
		"setup": {Config: with(with(aConfig, kube), map[string]string{"LEVEL": "setup-step", "SHARED": "from-setup", "SECRET": "s"}),
			Env: with(running, map[string]string{"greeting": "/tmp/greeting"}), Uploads: src},
		"tests/b": {Serial: true, Config: with(kube, map[string]string{"LEVEL": "step", "GLOBAL_ONLY": "g", "SHARED": "from-setup"}), Env: running, Uploads: src},
		"tests/d": {Serial: true, Config: with(kube, map[string]string{"LEVEL": "step", "GLOBAL_ONLY": "g", "SHARED": "from-setup"}), Env: running, Uploads: src},
		"check": {Config: with(aConfig, map[string]string{"kubeconfig.shoot": "shoot", "LEVEL": "setup-step", "SHARED": "from-setup"}),
			Env: with(running, map[string]string{"greeting": "/tmp/greeting"}), Uploads: src},
		"cleanup": {Config: with(with(aConfig, kube), map[string]string{"LEVEL": "global"}),
			Env: map[string]string{EnvTMTestrunID: "it", EnvTMPhase: "Exit", "greeting": "/tmp/greeting"}, Uploads: src},
	}
	got := map[string]unitView{}
	for _, s := range append(p.Steps, p.OnExit...) {
		for _, u := range s.Units {
			got[u.Label] = viewOf(u)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved runs (-want +got):\n%s", diff)
	}
	steps := map[string]Step{}
	for _, s := range append(p.Steps, p.OnExit...) {
		steps[s.Name] = s
	}
	if steps["tests"].ContinueOnError || steps["cleanup"].Condition != definition.ConditionAlways || !steps["cleanup"].OnExit {
		t.Errorf("tests continueOnError %v (want false: d is disruptive), cleanup condition %q onExit %v (want always, true)",
			steps["tests"].ContinueOnError, steps["cleanup"].Condition, steps["cleanup"].OnExit)
	}
	sharedFrom := map[string]string{}
	for name, s := range steps {
		sharedFrom[name] = s.SharedFrom
	}
	// tests and check start with setup's shared folder; the onExit step with the testflow's last step every
	// path goes through, setup too (tests ran two definitions and hands on no single folder).
	if diff := cmp.Diff(map[string]string{"setup": "", "tests": "setup", "check": "setup", "cleanup": "setup"}, sharedFrom); diff != "" {
		t.Errorf("shared folders handed on (-want +got):\n%s", diff)
	}
	d := steps["tests"].Units[0].Definition
	if d.Spec.WorkingDir != "/src" || d.Spec.Reports.Dir != "/tmp/tm/export" || d.Spec.Labels[definition.LabelFlow] != "it" || steps["tests"].Units[0].Reports != "tests/b" {
		t.Errorf("tests/b: workdir %q, reports %q, labels %v, report path %q", d.Spec.WorkingDir, d.Spec.Reports.Dir, d.Spec.Labels, steps["tests"].Units[0].Reports)
	}
}

// What a Testrun names and cannot be found is an error naming the file and the step's line.
func TestResolveTestrunErrors(t *testing.T) {
	disk := tmRepo(map[string]string{"repo/.test-defs/a.yaml": tmDef("a", "  labels: [default]\n")})
	tests := map[string]struct{ flow, want string }{
		"unknown name":  {"  - {name: s, definition: {name: b}}\n", `"repo/testrun.yaml": line 6: spec.testflow[0] (step "s"): no TestDefinition named "b" in repo/.test-defs: the ones there are a`},
		"no label":      {"  - {name: s, definition: {label: beta}}\n", `line 6: spec.testflow[0] (step "s"): definition.label "beta" matches no TestDefinition in repo/.test-defs`},
		"no .test-defs": {"  - {name: s, definition: {name: a}}\n  testLocations: [{type: local, hostPath: elsewhere}]\n", `spec.testLocations: location "repo/elsewhere"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			tr, err := definition.ParseTestrun("repo/testrun.yaml", []byte("apiVersion: testmachinery.sapcloud.io/v1beta1\nkind: Testrun\nmetadata: {name: it}\nspec:\n  testflow:\n"+tt.flow))
			if err != nil {
				t.Fatal(err)
			}
			_, err = ResolveTestrun(tr, "it", disk)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TM_GIT_SHA and TM_GIT_REF come from the git checkout that holds the location: a branch through a loose
// or a packed ref, a detached commit, a linked worktree's .git file; "local" outside a checkout.
func TestGitHead(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	tests := map[string]struct {
		files            map[string]string
		dir              string
		wantSHA, wantRef string
	}{
		"loose branch": {map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": sha + "\n", "sub/x": ""}, "sub", sha, "main"},
		"packed tag":   {map[string]string{".git/HEAD": "ref: refs/tags/v1\n", ".git/packed-refs": "# pack-refs\n" + sha + " refs/tags/v1\n"}, ".", sha, "v1"},
		"detached":     {map[string]string{".git/HEAD": sha + "\n"}, ".", sha, ""},
		"worktree": {map[string]string{"wt/.git": "gitdir: ../main/.git/worktrees/wt\n", "main/.git/worktrees/wt/HEAD": "ref: refs/heads/tm\n",
			"main/.git/worktrees/wt/commondir": "../..\n", "main/.git/refs/heads/tm": sha + "\n", "main/.git/HEAD": "ref: refs/heads/main\n"}, "wt", sha, "tm"},
		"no checkout": {map[string]string{"x": ""}, ".", "local", "local"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			for f, data := range tt.files {
				p := filepath.Join(root, filepath.FromSlash(f))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sha, ref := gitHead(filepath.Join(root, tt.dir), os.ReadFile)
			if diff := cmp.Diff([]string{tt.wantSHA, tt.wantRef}, []string{sha, ref}); diff != "" {
				t.Errorf("sha, ref (-want +got):\n%s", diff)
			}
		})
	}
}
