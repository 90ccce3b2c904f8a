package flow

import (
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
)

// The TM_* variables every step of a Testrun gets, as TestMachinery sets them (docs/testmachinery.md).
const (
	EnvTMTestrunID     = "TM_TESTRUN_ID"
	EnvTMPhase         = "TM_PHASE"
	EnvTMSharedPath    = "TM_SHARED_PATH"
	EnvTMExportPath    = "TM_EXPORT_PATH"
	EnvTMKubeconfig    = "TM_KUBECONFIG_PATH"
	EnvTMRepoPath      = "TM_REPO_PATH"
	EnvTMGitSHA        = "TM_GIT_SHA"
	EnvTMGitRef        = "TM_GIT_REF"
	tmPhaseRunning     = "Running"
	tmPhaseExit        = "Exit"
	maxTMDefinitions   = 1000
	tmLocationGitLocal = "local"
)

// TMDisk is what ResolveTestrun reads from the client's disk.
type TMDisk struct {
	// ReadFile reads a file, bounded in size.
	ReadFile func(name string) ([]byte, error)
	// ReadDir lists a directory.
	ReadDir func(name string) ([]fs.DirEntry, error)
}

// tmLocation is one local location of a Testrun, with the TestDefinitions of its .test-defs/.
type tmLocation struct {
	dir      string
	sha, ref string
	defs     []*definition.TMDefinition
}

// tmFound is a TestDefinition with the location it was found in.
type tmFound struct {
	def *definition.TMDefinition
	loc *tmLocation
}

// ResolveTestrun turns a TestMachinery Testrun into a Plan named id (also TM_TESTRUN_ID), reading the
// TestDefinitions of its local locations (or, when it names none, of the Testrun file's directory) from
// their .test-defs/ directories. Each step runs the TestDefinitions it chooses by name or label expression
// in its location set; their configuration is merged as TestMachinery merges it (the most specific wins:
// the step's own, then the steps every path to it goes through, then the Testrun's global configuration,
// then the TestDefinition's); the location is placed at /src, the working directory; and serial or
// disruptive definitions run alone. Anything that cannot be found is an error naming the file and line.
func ResolveTestrun(tr *definition.Testrun, id string, disk TMDisk) (*Plan, error) {
	base := "."
	if tr.File != "-" && tr.File != "" {
		base = filepath.Dir(tr.File)
	}
	sets, err := tmLocationSets(tr, base, disk)
	if err != nil {
		return nil, err
	}
	global := []definition.Config{}
	for _, name := range []string{"host", "gardener", "seed", "shoot"} {
		if c, ok := tr.Spec.Kubeconfigs.KubeconfigConfig(name); ok {
			global = append(global, c)
		}
	}
	for _, c := range tr.Spec.Config {
		global = definition.MergeConfig(nil, global, []definition.Config{c.Config()})
	}
	p := &Plan{Name: id}
	var errs []string
	resolve := func(field string, steps []definition.TMStep, onExit bool) []Step {
		dom := tmDominators(steps)
		shared := tmSharedConfig(steps, dom)
		var out []Step
		for i, s := range steps {
			found, err := tmFind(sets, s)
			if err != nil {
				errs = append(errs, definition.FlowFileError(tr.File, s.Line, "spec.%s[%d] (step %q): %v", field, i, s.Name, err).Error())
				continue
			}
			step := Step{Name: s.Name, DependsOn: s.DependsOn, OnExit: onExit, ContinueOnError: s.Definition.ContinueOnError}
			if onExit {
				step.Condition = s.Definition.Condition
				if step.Condition == "" {
					step.Condition = definition.ConditionAlways
				}
			}
			for _, f := range found {
				if f.def.HasBehavior(definition.TMBehaviorDisruptive) {
					step.ContinueOnError = false
				}
				step.Units = append(step.Units, tmUnit(id, s, f, global, shared[i], onExit, len(found) > 1 || s.Definition.Label != ""))
			}
			out = append(out, step)
		}
		if len(out) == len(steps) {
			tmSharedFrom(out, steps, dom, p.Steps)
		}
		return out
	}
	p.Steps = resolve("testflow", tr.Spec.TestFlow, false)
	p.OnExit = resolve("onExit", tr.Spec.OnExit, true)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return p, nil
}

// tmSharedFrom sets, for each of the resolved steps out (of the Testrun's steps, whose dominators are dom),
// the run whose shared folder it starts with, as TestMachinery chooses it: the step artifactsFrom names,
// else the nearest step every path to it goes through that does not continue on error; for an onExit step
// that has none, the last such step of the testflow (flow, nil when out is the testflow). A step that ran
// several TestDefinitions hands on no single folder, so the choice goes on past it.
func tmSharedFrom(out []Step, steps []definition.TMStep, dom []map[int]bool, flow []Step) {
	index := map[string]int{}
	for i, s := range steps {
		index[s.Name] = i
	}
	single := func(s Step) string {
		if len(s.Units) == 1 {
			return s.Units[0].Label
		}
		return ""
	}
	for i := range out {
		if from := steps[i].ArtifactsFrom; from != "" {
			out[i].SharedFrom = single(out[index[from]])
			continue
		}
		for _, j := range nearestFirst(dom, i) {
			if label := single(out[j]); label != "" && !out[j].ContinueOnError {
				out[i].SharedFrom = label
				break
			}
		}
		if out[i].SharedFrom == "" && flow != nil {
			out[i].SharedFrom = tmFlowEnd(flow)
		}
	}
}

// tmFlowEnd returns the run of the testflow's last step every path through it goes through (which does not
// continue on error and ran one TestDefinition): what its onExit steps start with; "" when there is none.
func tmFlowEnd(flow []Step) string {
	steps := make([]definition.TMStep, len(flow))
	depended := map[string]bool{}
	for i, s := range flow {
		steps[i] = definition.TMStep{Name: s.Name, DependsOn: s.DependsOn}
		for _, d := range s.DependsOn {
			depended[d] = true
		}
	}
	dom := tmDominators(steps)
	var common map[int]bool
	for i, s := range flow {
		if depended[s.Name] {
			continue
		}
		if common == nil {
			common = maps.Clone(dom[i])
			continue
		}
		maps.DeleteFunc(common, func(k int, _ bool) bool { return !dom[i][k] })
	}
	candidates := slices.Collect(maps.Keys(common))
	slices.SortFunc(candidates, func(a, b int) int { return len(dom[b]) - len(dom[a]) })
	for _, j := range candidates {
		if len(flow[j].Units) == 1 && !flow[j].ContinueOnError {
			return flow[j].Units[0].Label
		}
	}
	return ""
}

// tmUnit is the run of TestDefinition f in step s: the definition mapped onto ours, its configuration merged
// over the levels, the TM_* variables, its location uploaded to /src but for its .git directory (TM_GIT_SHA
// and TM_GIT_REF say what it holds; a test image need not have git to read it).
func tmUnit(id string, s definition.TMStep, f tmFound, global, shared []definition.Config, onExit, several bool) Unit {
	d := f.def.Definition()
	if s.Definition.Untrusted {
		// TestMachinery gives an untrusted step the shoot's kubeconfig only.
		global = slices.DeleteFunc(slices.Clone(global), func(c definition.Config) bool {
			return strings.HasPrefix(c.Name, definition.KubeconfigEntryName("")) && c.Name != definition.KubeconfigEntryName("shoot")
		})
	}
	step := make([]definition.Config, 0, len(s.Definition.Config))
	for _, c := range s.Definition.Config {
		step = append(step, c.Config())
	}
	d.Spec.Config = definition.MergeConfig(definition.MergeConfig(d.Spec.Config, global, shared), step, nil)
	phase := tmPhaseRunning
	if onExit {
		phase = tmPhaseExit
	}
	env := []definition.EnvVar{
		{Name: EnvTMTestrunID, Value: id},
		{Name: EnvTMPhase, Value: phase},
		{Name: EnvTMRepoPath, Value: definition.TMRepoPath},
		{Name: EnvTMKubeconfig, Value: definition.TMKubeconfigPath},
		{Name: EnvTMSharedPath, Value: SharedDir},
		{Name: EnvTMExportPath, Value: definition.TMExportPath},
		{Name: EnvTMGitSHA, Value: f.loc.sha},
		{Name: EnvTMGitRef, Value: f.loc.ref},
	}
	// TestMachinery exports a file's path in a variable named exactly as the entry, besides ours (PathEnvName).
	for _, c := range d.Spec.Config {
		if c.Type == definition.ConfigFile && c.EnvName() != c.Name && !strings.HasPrefix(c.Name, definition.KubeconfigEntryName("")) {
			env = append(env, definition.EnvVar{Name: c.Name, Value: c.Path})
		}
	}
	d.Spec.Env = env
	d.Spec.Labels = map[string]string{definition.LabelFlow: id, definition.LabelStep: s.Name}
	u := Unit{Step: s.Name, Label: s.Name, Reports: s.Name, Definition: d, Serial: f.def.Serial(),
		Uploads: []runspec.Upload{{Local: f.loc.dir, Path: definition.TMRepoPath, Skip: []string{".git"}}}}
	if several {
		u.Label = s.Name + "/" + d.Metadata.Name
		u.Reports = path.Join(s.Name, d.Metadata.Name)
	}
	return u
}

// tmLocationSets reads the locations of tr by set name: spec.locationSets; or spec.testLocations as the
// default set ""; or, when it gives neither, the directory base (the Testrun file's) as the default set.
// A relative hostPath is relative to base. The default set is also under the name "".
func tmLocationSets(tr *definition.Testrun, base string, disk TMDisk) (map[string][]*tmLocation, error) {
	read := map[string]*tmLocation{}
	load := func(locs []definition.TMLocation) ([]*tmLocation, error) {
		var out []*tmLocation
		for _, l := range locs {
			dir := l.HostPath
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(base, dir)
			}
			if read[dir] == nil {
				loc, err := tmReadLocation(dir, disk)
				if err != nil {
					return nil, err
				}
				read[dir] = loc
			}
			out = append(out, read[dir])
		}
		return out, nil
	}
	sets := map[string][]*tmLocation{}
	switch {
	case len(tr.Spec.LocationSets) > 0:
		for _, s := range tr.Spec.LocationSets {
			locs, err := load(s.Locations)
			if err != nil {
				return nil, fmt.Errorf("testrun file %q: spec.locationSets (%s): %w", tr.File, s.Name, err)
			}
			sets[s.Name] = locs
			if s.Default || len(tr.Spec.LocationSets) == 1 {
				sets[""] = locs
			}
		}
	case len(tr.Spec.TestLocations) > 0:
		locs, err := load(tr.Spec.TestLocations)
		if err != nil {
			return nil, fmt.Errorf("testrun file %q: spec.testLocations: %w", tr.File, err)
		}
		sets[""] = locs
	default:
		locs, err := load([]definition.TMLocation{{Type: "local", HostPath: "."}})
		if err != nil {
			return nil, fmt.Errorf("testrun file %q names no location, so its TestDefinitions are read next to it: %w", tr.File, err)
		}
		sets[""] = locs
	}
	return sets, nil
}

// tmReadLocation reads the TestDefinitions of the .test-defs/ directory of dir: every *.yaml and *.yml file
// of kind TestDefinition (TestMachinery's; other documents are left alone, as TestMachinery does), strictly.
func tmReadLocation(dir string, disk TMDisk) (*tmLocation, error) {
	defsDir := filepath.Join(dir, definition.TMDefinitionsDir)
	entries, err := disk.ReadDir(defsDir)
	if err != nil {
		return nil, fmt.Errorf("location %q: %w: a location is a directory holding %s/", dir, err, definition.TMDefinitionsDir)
	}
	loc := &tmLocation{dir: dir}
	loc.sha, loc.ref = gitHead(dir, disk.ReadFile)
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		if len(loc.defs) == maxTMDefinitions {
			return nil, fmt.Errorf("location %q: more than %d TestDefinitions in %s/", dir, maxTMDefinitions, definition.TMDefinitionsDir)
		}
		file := filepath.Join(defsDir, e.Name())
		data, err := disk.ReadFile(file)
		if err != nil {
			return nil, err
		}
		apiVersion, kind, err := definition.Kind(file, data)
		if err != nil {
			return nil, err
		}
		if kind != definition.KindDefinition || (apiVersion != "" && apiVersion != definition.TMAPIVersion) {
			continue
		}
		d, err := definition.ParseTMDefinition(file, data)
		if err != nil {
			return nil, err
		}
		loc.defs = append(loc.defs, d)
	}
	return loc, nil
}

// tmFind returns the TestDefinitions step s runs, in its location set: by name, the one of that name (in
// the last location that has it, as TestMachinery finds it); by label expression, every match, by name.
func tmFind(sets map[string][]*tmLocation, s definition.TMStep) ([]tmFound, error) {
	setName := ""
	if s.Definition.LocationSet != nil {
		setName = *s.Definition.LocationSet
	}
	locs, ok := sets[setName]
	if !ok {
		return nil, fmt.Errorf("the Testrun has several location sets and none is the default: give the step definition.locationSet, or mark a set default: true")
	}
	byName := map[string]tmFound{}
	var dirs []string
	for _, l := range locs {
		dirs = append(dirs, filepath.Join(l.dir, definition.TMDefinitionsDir))
		for _, d := range l.defs {
			byName[d.Metadata.Name] = tmFound{def: d, loc: l}
		}
	}
	if name := s.Definition.Name; name != "" {
		f, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("no TestDefinition named %q in %s: the ones there are %s", name, strings.Join(dirs, ", "), strings.Join(slices.Sorted(maps.Keys(byName)), ", "))
		}
		return []tmFound{f}, nil
	}
	var out []tmFound
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		if byName[name].def.MatchesLabel(s.Definition.Label) {
			out = append(out, byName[name])
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("definition.label %q matches no TestDefinition in %s", s.Definition.Label, strings.Join(dirs, ", "))
	}
	return out, nil
}

// tmDominators returns, for each step, the set of steps every path from the start of the flow to it goes
// through, itself included. ParseTestrun has refused dependency cycles, so the recursion ends.
func tmDominators(steps []definition.TMStep) []map[int]bool {
	index := map[string]int{}
	for i, s := range steps {
		index[s.Name] = i
	}
	dom := make([]map[int]bool, len(steps))
	var dominators func(i int) map[int]bool
	dominators = func(i int) map[int]bool {
		if dom[i] != nil {
			return dom[i]
		}
		var d map[int]bool
		for _, dep := range steps[i].DependsOn {
			pd := dominators(index[dep])
			if d == nil {
				d = maps.Clone(pd)
				continue
			}
			maps.DeleteFunc(d, func(k int, _ bool) bool { return !pd[k] })
		}
		if d == nil {
			d = map[int]bool{}
		}
		d[i] = true
		dom[i] = d
		return d
	}
	for i := range steps {
		dominators(i)
	}
	return dom
}

// nearestFirst returns the steps every path to step i goes through, i left out, the nearest first: the
// nearest is the one the most steps dominate.
func nearestFirst(dom []map[int]bool, i int) []int {
	before := slices.DeleteFunc(slices.Collect(maps.Keys(dom[i])), func(k int) bool { return k == i })
	slices.SortFunc(before, func(a, b int) int { return len(dom[b]) - len(dom[a]) })
	return before
}

// tmSharedConfig returns, for each step, the configuration TestMachinery shares with it from the steps
// before it: the step configuration (but its private entries) of every step that each path from the start
// of the flow to it goes through (dom), the nearest winning.
func tmSharedConfig(steps []definition.TMStep, dom []map[int]bool) [][]definition.Config {
	out := make([][]definition.Config, len(steps))
	for i := range steps {
		// Merge from the farthest, so that the nearest wins.
		before := nearestFirst(dom, i)
		slices.Reverse(before)
		var shared []definition.Config
		for _, j := range before {
			var layer []definition.Config
			for _, c := range steps[j].Definition.Config {
				if c.Private == nil || !*c.Private {
					layer = append(layer, c.Config())
				}
			}
			shared = definition.MergeConfig(nil, shared, layer)
		}
		out[i] = shared
	}
	return out
}
