package definition

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/validate/content"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// IsTestMachinery says whether apiVersion is of TestMachinery's API group, whatever its version.
func IsTestMachinery(apiVersion string) bool {
	return strings.HasPrefix(apiVersion, TMGroup+"/")
}

// ParseTMDefinition reads one TestMachinery TestDefinition from data, as strictly as Parse reads ours but
// with TestMachinery's field names: an unknown field, a value of the wrong type or a value that would not
// run is an error naming file, the line and the field.
func ParseTMDefinition(file string, data []byte) (*TMDefinition, error) {
	var d TMDefinition
	root, err := decode(file, data, &d)
	if err != nil {
		return nil, err
	}
	if err := locate(file, root, d.validate()); err != nil {
		return nil, err
	}
	d.File = file
	return &d, nil
}

// ParseTestrun reads one TestMachinery Testrun from data, as strictly as ParseTMDefinition. What needs
// TestMachinery's controller (git locations, a pause) is refused here, naming the field and what to do
// instead; whether the steps' TestDefinitions exist is checked when the Testrun is resolved.
func ParseTestrun(file string, data []byte) (*Testrun, error) {
	var t Testrun
	root, err := decode(file, data, &t)
	if err != nil {
		return nil, err
	}
	if err := locate(file, root, t.validate()); err != nil {
		return nil, err
	}
	for i := range t.Spec.TestFlow {
		t.Spec.TestFlow[i].Line = lineOf(root, []any{"spec", "testflow", i})
	}
	for i := range t.Spec.OnExit {
		t.Spec.OnExit[i].Line = lineOf(root, []any{"spec", "onExit", i})
	}
	t.File = file
	return &t, nil
}

// checkTMHead checks apiVersion and kind of a TestMachinery document; optional allows a missing apiVersion.
func checkTMHead(ps *problems, apiVersion, kind, want string, optional bool) {
	switch {
	case apiVersion == TMAPIVersion, apiVersion == "" && optional:
	case apiVersion == "":
		ps.add([]any{"apiVersion"}, "apiVersion is missing: start the document with apiVersion: %s", TMAPIVersion)
	default:
		ps.add([]any{"apiVersion"}, "%q is not supported: TestMachinery documents are read in version %s only", apiVersion, TMAPIVersion)
	}
	checkKind(ps, kind, want)
}

// checkTMName checks a TestDefinition's name as TestMachinery does: a DNS-1123 subdomain without '.'.
func checkTMName(ps *problems, at []any, name string) {
	switch {
	case name == "":
		ps.add(at, "the name is missing")
	case strings.Contains(name, ".") || len(content.IsDNS1123Subdomain(name)) != 0:
		ps.add(at, "%q is not a valid name: use lowercase letters, digits and '-', starting and ending with a letter or digit", name)
	}
}

func (d *TMDefinition) validate() problems {
	var ps problems
	checkTMHead(&ps, d.APIVersion, d.Kind, KindDefinition, true)
	checkTMName(&ps, []any{"metadata", "name"}, d.Metadata.Name)
	if len(d.Spec.Command) == 0 {
		ps.add([]any{"spec", "command"}, "the command is missing: TestMachinery runs a definition's command (e.g. [bash, -c])")
	}
	if strings.ContainsFunc(d.Spec.Image, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) {
		ps.add([]any{"spec", "image"}, "image %q contains whitespace", d.Spec.Image)
	}
	for i, l := range d.Spec.Labels {
		if l == "" || strings.HasPrefix(l, "!") || strings.Contains(l, ",") {
			ps.add([]any{"spec", "labels", i}, "%q is not a label: give a name without '!' or ','", l)
		}
	}
	for i, b := range d.Spec.Behavior {
		if b != TMBehaviorSerial && b != TMBehaviorDisruptive {
			ps.add([]any{"spec", "behavior", i}, "behavior %q is not serial or disruptive", b)
		}
	}
	if n := &d.Spec.ActiveDeadlineSeconds; n.Kind != 0 {
		if _, ok := tmSeconds(n); !ok {
			ps.add([]any{"spec", "activeDeadlineSeconds"}, "%q is not a positive number of seconds", n.Value)
		}
	}
	checkTMConfig(&ps, []any{"spec", "config"}, d.Spec.Config)
	checkQuantities(&ps, []any{"spec", "resources", "requests"}, d.Spec.Resources.Requests)
	checkQuantities(&ps, []any{"spec", "resources", "limits"}, d.Spec.Resources.Limits)
	return ps
}

// tmSeconds reads an integer, or a string holding one, of seconds greater than 0.
func tmSeconds(n *yaml.Node) (int, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	s, err := strconv.Atoi(n.Value)
	return s, err == nil && s > 0
}

// checkTMConfig checks TestMachinery configuration elements, as they are mapped onto ours (Config).
func checkTMConfig(ps *problems, at []any, entries []TMConfig) {
	mapped := make([]Config, len(entries))
	for i, c := range entries {
		mapped[i] = c.Config()
		if c.Type == ConfigFile && c.Value != "" {
			if _, err := base64.StdEncoding.DecodeString(c.Value); err != nil {
				ps.add(append(slices.Clone(at), i, "value"), "the value of a file is base64-encoded content, and this is not base64 (%v): encode it with base64 -w0", err)
			}
		}
	}
	checkConfig(ps, at, mapped)
}

// Config maps a TestMachinery configuration element onto ours: the same name, type, path and source; the
// value of a file, base64 in TestMachinery, is decoded (an undecodable one stays as it is: validation refuses
// it).
func (c TMConfig) Config() Config {
	out := Config{Name: c.Name, Type: c.Type, Path: c.Path, ValueFrom: c.ValueFrom}
	if c.Value != "" {
		v := c.Value
		if c.Type == ConfigFile {
			if b, err := base64.StdEncoding.DecodeString(c.Value); err == nil {
				v = string(b)
			}
		}
		out.Value = &v
	}
	return out
}

// DeadlineSeconds returns the definition's activeDeadlineSeconds, TestMachinery's default when it sets none.
func (d *TMDefinition) DeadlineSeconds() int {
	if s, ok := tmSeconds(&d.Spec.ActiveDeadlineSeconds); ok {
		return s
	}
	return TMDefaultDeadline
}

// HasBehavior says whether the definition declares behavior b.
func (d *TMDefinition) HasBehavior(b string) bool { return slices.Contains(d.Spec.Behavior, b) }

// Serial says whether the definition's runs must not run at the same time as any other run: serial and
// disruptive behavior both say so.
func (d *TMDefinition) Serial() bool {
	return d.HasBehavior(TMBehaviorSerial) || d.HasBehavior(TMBehaviorDisruptive)
}

// MatchesLabel says whether the definition matches a step's label expression as TestMachinery reads it:
// comma-separated names, each of which it must have, except those written !name, which it must not have.
func (d *TMDefinition) MatchesLabel(expr string) bool {
	for _, want := range strings.Split(expr, ",") {
		want = strings.TrimSpace(want)
		if name, not := strings.CutPrefix(want, "!"); not {
			if slices.Contains(d.Spec.Labels, name) {
				return false
			}
			continue
		}
		if !slices.Contains(d.Spec.Labels, want) {
			return false
		}
	}
	return true
}

// Definition maps the TestDefinition onto ours: its name, image (TestMachinery's base image when it names
// none), command, args, configuration (at the definition's level), resources and activeDeadlineSeconds (as
// the timeout, TestMachinery's 600 s when unset). The test starts in TMRepoPath, where its location is
// placed, and TMExportPath is its report directory, so that what it exports comes home. Owner,
// recipientsOnFailure and labels do not reach the run; behavior is the executor's (Serial).
func (d *TMDefinition) Definition() *Definition {
	image := d.Spec.Image
	if image == "" {
		image = TMBaseImage
	}
	out := &Definition{
		APIVersion: APIVersion,
		Kind:       KindDefinition,
		Metadata:   Metadata{Name: d.Metadata.Name},
		Spec: Spec{
			Image:      image,
			Command:    slices.Clone(d.Spec.Command),
			Args:       slices.Clone(d.Spec.Args),
			WorkingDir: TMRepoPath,
			Reports:    Reports{Dir: TMExportPath},
			Resources:  Resources{Requests: d.Spec.Resources.Requests, Limits: d.Spec.Resources.Limits},
			Timeout:    (fmt.Sprintf("%ds", d.DeadlineSeconds())),
		},
		Source: Source{Origin: OriginFile, File: d.File},
	}
	if d.Spec.Description != "" {
		out.Metadata.Annotations = map[string]string{AnnotationDescription: d.Spec.Description}
	}
	for _, c := range d.Spec.Config {
		out.Spec.Config = append(out.Spec.Config, c.Config())
	}
	return out
}

// The kubeconfigs of a Testrun, in the order TestMachinery mounts them.
var tmKubeconfigNames = []string{"host", "gardener", "seed", "shoot"}

// Kubeconfig returns the node of the kubeconfig named name (host, gardener, seed or shoot).
func (k *TMKubeconfigs) Kubeconfig(name string) *yaml.Node {
	switch name {
	case "host":
		return &k.Host
	case "gardener":
		return &k.Gardener
	case "seed":
		return &k.Seed
	case "shoot":
		return &k.Shoot
	}
	return nil
}

// KubeconfigConfig maps the kubeconfig named name onto a file configuration entry at
// TMKubeconfigPath/<name>.config: a base64 string becomes its decoded content, a secretKeyRef or
// configMapKeyRef its source. ok is false when the Testrun gives no such kubeconfig. ParseTestrun has
// checked it.
func (k *TMKubeconfigs) KubeconfigConfig(name string) (c Config, ok bool) {
	n := k.Kubeconfig(name)
	if n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return Config{}, false
	}
	c = Config{Name: KubeconfigEntryName(name), Type: ConfigFile, Path: TMKubeconfigPath + "/" + name + ".config"}
	if n.Kind == yaml.ScalarNode {
		b, _ := base64.StdEncoding.DecodeString(n.Value)
		v := string(b)
		c.Value = &v
		return c, true
	}
	var from ValueFrom
	_ = n.Decode(&from)
	c.ValueFrom = &from
	return c, true
}

// checkKubeconfig checks one kubeconfig of a Testrun: a base64 string, or a mapping of exactly one of
// secretKeyRef and configMapKeyRef.
func checkKubeconfig(ps *problems, at []any, n *yaml.Node) {
	switch n.Kind {
	case 0:
		return
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return
		}
		if _, err := base64.StdEncoding.DecodeString(n.Value); err != nil || n.Value == "" {
			ps.add(at, "a kubeconfig given as a string is base64-encoded: encode it with base64 -w0, or give secretKeyRef")
		}
		return
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k != "secretKeyRef" && k != "configMapKeyRef" {
				ps.add(append(slices.Clone(at), k), "unknown field %q: a kubeconfig is a base64 string, or secretKeyRef or configMapKeyRef", k)
				return
			}
		}
		var from ValueFrom
		if err := n.Decode(&from); err != nil {
			ps.add(at, "give secretKeyRef or configMapKeyRef with name and key")
			return
		}
		c := Config{Name: "kubeconfig", Type: ConfigFile, Path: "/kubeconfig", ValueFrom: &from}
		for _, p := range c.problems() {
			ps.add(append(slices.Clone(at), p.path...), "%s", p.msg)
		}
		if from.SecretKeyRef == nil && from.ConfigMapKeyRef == nil {
			return
		}
		return
	}
	ps.add(at, "a kubeconfig is a base64 string, or a mapping with secretKeyRef or configMapKeyRef")
}

// checkLocations checks the locations of a Testrun: only type local, with a hostPath, runs client-only.
func checkLocations(ps *problems, at []any, locs []TMLocation) {
	for i, l := range locs {
		p := func(elem ...any) []any { return append(append(slices.Clone(at), i), elem...) }
		switch l.Type {
		case "local":
			if l.HostPath == "" {
				ps.add(p("hostPath"), "a local location needs hostPath: the directory that holds %s/", TMDefinitionsDir)
			}
		case "git":
			ps.add(p("type"), "git locations are not supported: kubectl testrun runs client-only and clones nothing; check %s out and give it as type: local with hostPath: <the checkout's directory>", orWords(l.Repo, "the repository"))
		case "":
			ps.add(p("type"), "the type is missing: use type: local with hostPath")
		default:
			ps.add(p("type"), "location type %q is not local: use type: local with hostPath", l.Type)
		}
	}
}

func orWords(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

func (t *Testrun) validate() problems {
	var ps problems
	checkTMHead(&ps, t.APIVersion, t.Kind, KindTestrun, false)
	if _, err := t.FlowName(); err != nil {
		ps.add([]any{"metadata"}, "%v", err)
	}
	s := &t.Spec
	if len(s.TestLocations) > 0 && len(s.LocationSets) > 0 {
		ps.add([]any{"spec", "testLocations"}, "give testLocations or locationSets, not both")
	}
	checkLocations(&ps, []any{"spec", "testLocations"}, s.TestLocations)
	sets, defaults := map[string]bool{}, 0
	for i, set := range s.LocationSets {
		at := []any{"spec", "locationSets", i}
		switch {
		case set.Name == "":
			ps.add(append(slices.Clone(at), "name"), "the location set has no name")
		case sets[set.Name]:
			ps.add(append(slices.Clone(at), "name"), "location set %q is given twice", set.Name)
		}
		sets[set.Name] = true
		if set.Default {
			defaults++
			if defaults > 1 {
				ps.add(append(slices.Clone(at), "default"), "only one location set may be the default")
			}
		}
		checkLocations(&ps, append(slices.Clone(at), "locations"), set.Locations)
	}
	for _, name := range tmKubeconfigNames {
		checkKubeconfig(&ps, []any{"spec", "kubeconfigs", name}, s.Kubeconfigs.Kubeconfig(name))
	}
	checkTMConfig(&ps, []any{"spec", "config"}, s.Config)
	if len(s.TestFlow) == 0 {
		ps.add([]any{"spec", "testflow"}, "the testflow has no steps: give at least one step with a name and a definition")
	}
	names := map[string]bool{}
	for _, list := range []struct {
		field  string
		steps  []TMStep
		onExit bool
	}{{"testflow", s.TestFlow, false}, {"onExit", s.OnExit, true}} {
		known := map[string]bool{}
		for _, st := range list.steps {
			known[st.Name] = true
		}
		shape := make([]Step, len(list.steps))
		for i, st := range list.steps {
			at := []any{"spec", list.field, i}
			if st.Name != "" && names[st.Name] {
				ps.add(append(slices.Clone(at), "name"), "step %q is given twice: step names are unique across testflow and onExit", st.Name)
			}
			names[st.Name] = true
			st.validate(&ps, at, list.onExit, known, sets, len(s.LocationSets) > 0)
			shape[i] = Step{Name: st.Name, DependsOn: st.DependsOn}
		}
		checkCycles(&ps, list.field, shape)
	}
	return ps
}

// validate checks one step of a Testrun; known are the names its dependsOn may use, sets the location sets.
func (st *TMStep) validate(ps *problems, at []any, onExit bool, known, sets map[string]bool, haveSets bool) {
	p := func(elem ...any) []any { return append(slices.Clone(at), elem...) }
	switch {
	case st.Name == "":
		ps.add(p("name"), "the step has no name: give it one such as \"create-shoot\"")
	case len(st.Name) > runspec.MaxRunNameBaseLength || len(content.IsDNS1123Label(st.Name)) != 0:
		ps.add(p("name"), "%q is not a valid step name here: its runs are named after it, so use at most %d lowercase letters, digits and '-', starting and ending with a letter or digit", st.Name, runspec.MaxRunNameBaseLength)
	}
	d := st.Definition
	switch {
	case d.Name == "" && d.Label == "":
		ps.add(p("definition"), "the step runs no definition: give definition.name or definition.label")
	case d.Name != "" && d.Label != "":
		ps.add(p("definition"), "both name and label are given: give one of them")
	case d.Label != "":
		for _, term := range strings.Split(d.Label, ",") {
			if strings.TrimPrefix(strings.TrimSpace(term), "!") == "" {
				ps.add(p("definition", "label"), "%q is not a label expression: give names separated by ',', each optionally starting with '!' (e.g. default,!beta)", d.Label)
				break
			}
		}
	}
	switch d.Condition {
	case "", ConditionAlways, ConditionSuccess, ConditionError:
	default:
		ps.add(p("definition", "condition"), "condition %q is not always, success or error", d.Condition)
	}
	if d.LocationSet != nil && !sets[*d.LocationSet] {
		switch {
		case !haveSets:
			ps.add(p("definition", "locationSet"), "the Testrun has no spec.locationSets: remove locationSet, or add the set")
		default:
			ps.add(p("definition", "locationSet"), "no location set is named %q", *d.LocationSet)
		}
	}
	checkTMConfig(ps, p("definition", "config"), d.Config)
	if st.Pause != nil && st.Pause.Enabled {
		ps.add(p("pause", "enabled"), "a paused step waits for TestMachinery's controller to resume it, and there is none: remove pause, or split the Testrun in two")
	}
	if st.ArtifactsFrom != "" && !known[st.ArtifactsFrom] {
		ps.add(p("artifactsFrom"), "no step is named %q", st.ArtifactsFrom)
	}
	for i, dep := range st.DependsOn {
		switch {
		case dep == st.Name:
			ps.add(p("dependsOn", i), "step %q depends on itself: remove it from its own dependsOn", dep)
		case !known[dep] && onExit:
			ps.add(p("dependsOn", i), "no onExit step is named %q: an onExit step depends only on onExit steps", dep)
		case !known[dep]:
			ps.add(p("dependsOn", i), "no step is named %q: name one of the testflow's steps (a step's name, not its definition's)", dep)
		}
	}
}

// FlowName returns the name of the flow the Testrun becomes: metadata.name, or metadata.generateName
// without its trailing '-'.
func (t *Testrun) FlowName() (string, error) {
	name := t.Metadata.Name
	if name == "" {
		name = strings.TrimRight(t.Metadata.GenerateName, "-")
	}
	switch {
	case name == "":
		return "", fmt.Errorf("the Testrun has no name: give metadata.name or metadata.generateName")
	case len(name) > runspec.MaxRunNameBaseLength || len(content.IsDNS1123Label(name)) != 0:
		return "", fmt.Errorf("%q is not a valid name here: use at most %d lowercase letters, digits and '-', starting and ending with a letter or digit", name, runspec.MaxRunNameBaseLength)
	}
	return name, nil
}
