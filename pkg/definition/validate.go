package definition

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// configName is what a configuration entry's name may be: it becomes an environment variable name and the
// name part of the pod annotation testrun.dev/config.<name>, so it starts with a letter, ends with a letter
// or digit, and holds only letters, digits, '_', '-' and '.'.
var configName = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_.-]*[A-Za-z0-9])?$`)

// maxConfigNameLength keeps "config." plus the name within the 63 characters of an annotation name.
const maxConfigNameLength = 63 - len("config.")

func (d *Definition) validate() problems {
	var ps problems
	checkHead(&ps, d.APIVersion, d.Kind, KindDefinition)
	name := d.Metadata.Name
	switch {
	case name == "":
		ps.add([]any{"metadata", "name"}, "the name is missing: give the definition a name such as \"api-tests\"")
	case len(name) > runspec.MaxRunNameBaseLength || len(content.IsDNS1123Label(name)) != 0:
		ps.add([]any{"metadata", "name"}, "%q is not a valid name: use at most %d lowercase letters, digits and '-', starting and ending with a letter or digit", name, runspec.MaxRunNameBaseLength)
	}
	checkLabels(&ps, []any{"metadata", "labels"}, d.Metadata.Labels, false)

	s := d.Spec
	if strings.ContainsFunc(s.Image, unicode.IsSpace) {
		ps.add([]any{"spec", "image"}, "image %q contains whitespace", s.Image)
	}
	seenEnv := map[string]bool{}
	for i, e := range s.Env {
		p := []any{"spec", "env", i, "name"}
		switch {
		case e.Name == "":
			ps.add(p, "the variable has no name")
		case strings.ContainsAny(e.Name, "= \t\n"):
			ps.add(p, "%q is not a variable name: no '=' or whitespace", e.Name)
		case seenEnv[e.Name]:
			ps.add(p, "variable %q is set twice: keep one", e.Name)
		}
		seenEnv[e.Name] = true
	}
	checkConfig(&ps, []any{"spec", "config"}, s.Config)
	if s.Reports.Dir != "" {
		switch dir := path.Clean(s.Reports.Dir); {
		case !path.IsAbs(dir):
			ps.add([]any{"spec", "reports", "dir"}, "%q is not an absolute path: use one such as %q", s.Reports.Dir, runspec.DefaultReportDir)
		case dir == "/":
			ps.add([]any{"spec", "reports", "dir"}, "%q is the root of the container: use a directory of its own such as %q", s.Reports.Dir, runspec.DefaultReportDir)
		}
	}
	if s.WorkingDir != "" && !path.IsAbs(s.WorkingDir) {
		ps.add([]any{"spec", "workingDir"}, "%q is not an absolute path: use one such as /src, or leave workingDir out for the image's WORKDIR", s.WorkingDir)
	}
	switch s.Reports.Format {
	case "", DefaultReportFormat:
	default:
		ps.add([]any{"spec", "reports", "format"}, "format %q is not supported: use junit", s.Reports.Format)
	}
	checkQuantities(&ps, []any{"spec", "resources", "requests"}, s.Resources.Requests)
	checkQuantities(&ps, []any{"spec", "resources", "limits"}, s.Resources.Limits)
	if s.Timeout != "" {
		t, err := time.ParseDuration(s.Timeout)
		switch {
		case err != nil:
			ps.add([]any{"spec", "timeout"}, "%q is not a duration: use Go syntax such as 30m or 1h30m", s.Timeout)
		case t <= 0:
			ps.add([]any{"spec", "timeout"}, "%q is not positive: use a duration such as 30m, or leave timeout out for the default of %s", s.Timeout, runspec.DefaultTimeout)
		}
	}
	checkLabels(&ps, []any{"spec", "labels"}, s.Labels, true)
	checkSharding(&ps, s)
	return ps
}

// checkSharding checks the shard count and how the framework splits.
func checkSharding(ps *problems, s Spec) {
	if s.Shards < 0 || s.Shards > runspec.MaxShards {
		ps.add([]any{"spec", "shards"}, "%d is out of range: use 1 to %d", s.Shards, runspec.MaxShards)
	}
	if s.Shards > 1 && s.Sharding == nil {
		ps.add([]any{"spec", "shards"}, "a sharded suite needs spec.sharding, which says how the framework runs its share")
	}
	if s.Sharding == nil {
		return
	}
	sh := s.Sharding
	if sh.Split != SplitArgs && len(sh.Args) > 0 {
		ps.add([]any{"spec", "sharding", "args"}, "args are for split: args; with split: %s they are not used", sh.Split)
	}
	if sh.Split != SplitWrap && len(sh.Wrap) > 0 {
		ps.add([]any{"spec", "sharding", "wrap"}, "wrap is for split: wrap; with split: %s it is not used", sh.Split)
	}
	switch sh.Split {
	case SplitEnv:
	case SplitArgs:
		if len(sh.Args) == 0 {
			ps.add([]any{"spec", "sharding", "args"}, "split: args needs the args that tell the framework its share")
		}
	case SplitWrap:
		if len(sh.Wrap) == 0 {
			ps.add([]any{"spec", "sharding", "wrap"}, "split: wrap needs the launcher (wrap: [launcher, ...]) that runs the command with this shard's share")
		}
	default:
		ps.add([]any{"spec", "sharding", "split"}, "%q is not a way to split: use env (the command reads TESTRUN_SHARD_INDEX and TESTRUN_SHARD_COUNT), args or wrap", sh.Split)
	}
}

func (c *TestConfig) validate() problems {
	var ps problems
	checkHead(&ps, c.APIVersion, c.Kind, KindConfig)
	checkConfig(&ps, []any{"spec", "config"}, c.Spec.Config)
	return ps
}

// checkHead checks apiVersion and kind.
func checkHead(ps *problems, apiVersion, kind, want string) {
	switch apiVersion {
	case APIVersion:
	case "":
		ps.add([]any{"apiVersion"}, "apiVersion is missing: start the document with apiVersion: %s", APIVersion)
	default:
		ps.add([]any{"apiVersion"}, "%q is not supported: use %s", apiVersion, APIVersion)
	}
	checkKind(ps, kind, want)
}

// checkKind checks that a document's kind is want.
func checkKind(ps *problems, kind, want string) {
	switch kind {
	case want:
	case "":
		ps.add([]any{"kind"}, "kind is missing: add kind: %s", want)
	default:
		ps.add([]any{"kind"}, "kind %q is not expected here: use %s", kind, want)
	}
}

// checkLabels checks label keys and values; reserved says whether the plugin's own labels are refused.
func checkLabels(ps *problems, at []any, labels map[string]string, reserved bool) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := append(slices.Clone(at), k)
		switch {
		case reserved && (k == runspec.LabelManagedBy || k == runspec.LabelRun || k == LabelDefinition):
			ps.add(p, "label %q is set by kubectl-testrun itself: remove it", k)
		case len(content.IsLabelKey(k)) != 0:
			ps.add(p, "%q is not a valid label key: %s", k, strings.Join(content.IsLabelKey(k), "; "))
		case len(content.IsLabelValue(labels[k])) != 0:
			ps.add(p, "%q is not a valid label value: %s", labels[k], strings.Join(content.IsLabelValue(labels[k]), "; "))
		}
	}
}

// checkQuantities checks that every value is a resource quantity.
func checkQuantities(ps *problems, at []any, list map[string]string) {
	keys := make([]string, 0, len(list))
	for k := range list {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := append(slices.Clone(at), k)
		if len(content.IsLabelKey(k)) != 0 {
			ps.add(p, "%q is not a resource name such as cpu or memory", k)
			continue
		}
		if _, err := resource.ParseQuantity(list[k]); err != nil {
			ps.add(p, "%q is not a quantity: use one such as 500m, 1 or 256Mi", list[k])
		}
	}
}

// checkConfig checks a list of configuration entries: names, types, paths, and exactly one source each.
func checkConfig(ps *problems, at []any, entries []Config) {
	names := map[string]bool{}
	paths := map[string]bool{}
	vars := map[string]string{}
	for i, c := range entries {
		p := append(slices.Clone(at), i)
		for _, problem := range c.problems() {
			ps.add(append(slices.Clone(p), problem.path...), "%s", problem.msg)
		}
		if names[c.Name] {
			ps.add(append(slices.Clone(p), "name"), "entry %q is given twice: keep one", c.Name)
		}
		names[c.Name] = true
		if c.Type == ConfigFile && c.Path != "" {
			clean := path.Clean(c.Path)
			if paths[clean] {
				ps.add(append(slices.Clone(p), "path"), "path %q is used by another entry: give each file its own path", c.Path)
			}
			paths[clean] = true
		}
		if v := c.EnvName(); v != "" {
			if other, ok := vars[v]; ok && other != c.Name {
				ps.add(append(slices.Clone(p), "name"), "entry %q and entry %q both become the variable %s: rename one", c.Name, other, v)
			}
			vars[v] = c.Name
		}
	}
}

// Validate checks one configuration entry on its own (a name, a type, a path for a file, exactly one source).
func (c Config) Validate() error {
	ps := c.problems()
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(ps))
	for _, p := range ps {
		if where := pathString(p.path); where != "" {
			msgs = append(msgs, where+": "+p.msg)
			continue
		}
		msgs = append(msgs, p.msg)
	}
	return fmt.Errorf("config entry %q: %s", c.Name, strings.Join(msgs, "; "))
}

func (c Config) problems() problems {
	var ps problems
	switch {
	case c.Name == "":
		ps.add([]any{"name"}, "the entry has no name")
	case len(c.Name) > maxConfigNameLength || !configName.MatchString(c.Name):
		ps.add([]any{"name"}, "%q is not a valid entry name: use at most %d letters, digits, '_', '-' and '.', starting with a letter and ending with a letter or digit", c.Name, maxConfigNameLength)
	}
	switch c.Type {
	case ConfigEnv:
		if c.Path != "" {
			ps.add([]any{"path"}, "path is only for type file: remove it, or use type: file")
		}
	case ConfigFile:
		switch clean := path.Clean(c.Path); {
		case c.Path == "":
			ps.add([]any{"path"}, "a file needs a path: give the absolute path the test reads it from")
		case !path.IsAbs(c.Path):
			ps.add([]any{"path"}, "%q is not an absolute path", c.Path)
		case clean == "/":
			ps.add([]any{"path"}, "%q is the root of the container: give the path of a file", c.Path)
		}
	case "":
		ps.add([]any{"type"}, "the type is missing: use env or file")
	default:
		ps.add([]any{"type"}, "type %q is not env or file", c.Type)
	}
	sources := 0
	if c.Value != nil {
		sources++
	}
	if c.ValueFrom != nil {
		if c.ValueFrom.SecretKeyRef != nil {
			sources++
			checkKeyRef(&ps, []any{"valueFrom", "secretKeyRef"}, *c.ValueFrom.SecretKeyRef, "Secret")
		}
		if c.ValueFrom.ConfigMapKeyRef != nil {
			sources++
			checkKeyRef(&ps, []any{"valueFrom", "configMapKeyRef"}, *c.ValueFrom.ConfigMapKeyRef, "ConfigMap")
		}
		if c.ValueFrom.SecretKeyRef == nil && c.ValueFrom.ConfigMapKeyRef == nil {
			ps.add([]any{"valueFrom"}, "valueFrom is empty: give secretKeyRef or configMapKeyRef")
			return ps
		}
	}
	switch {
	case sources == 0:
		ps.add(nil, "no content: give exactly one of value, valueFrom.secretKeyRef or valueFrom.configMapKeyRef")
	case sources > 1:
		ps.add(nil, "more than one source: give exactly one of value, valueFrom.secretKeyRef or valueFrom.configMapKeyRef")
	}
	return ps
}

func checkKeyRef(ps *problems, at []any, ref KeyRef, kind string) {
	switch {
	case ref.Name == "":
		ps.add(append(slices.Clone(at), "name"), "the %s's name is missing", kind)
	case len(content.IsDNS1123Subdomain(ref.Name)) != 0:
		ps.add(append(slices.Clone(at), "name"), "%q is not a valid %s name", ref.Name, kind)
	}
	switch {
	case ref.Key == "":
		ps.add(append(slices.Clone(at), "key"), "the key is missing: name the key of the %s to take", kind)
	case len(validation.IsConfigMapKey(ref.Key)) != 0:
		ps.add(append(slices.Clone(at), "key"), "%q is not a valid key: %s", ref.Key, strings.Join(validation.IsConfigMapKey(ref.Key), "; "))
	}
}
