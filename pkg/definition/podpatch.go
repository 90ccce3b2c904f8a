package definition

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// sampleRunName names the run checkPodPatch tries a patch on; any valid run name does.
const sampleRunName = "definition-check"

// checkPodPatch turns spec.podTemplatePatch into a PodPatch and tries it on the pod of a run of the
// definition, so that a patch that does not apply, misspells a field of the pod, or breaks what the plugin
// needs of the pod fails when the file is read, at the line of the field at fault.
func (d *Definition) checkPodPatch(file string, root *yaml.Node) error {
	s := d.Spec
	at := []any{"spec", "podTemplatePatch"}
	if s.PodTemplatePatch == nil {
		if s.PodTemplatePatchType != "" {
			return fileError(file, lineOf(root, []any{"spec", "podTemplatePatchType"}), "spec.podTemplatePatchType: there is no podTemplatePatch to apply: add one or remove the type")
		}
		return nil
	}
	typ := runspec.PatchType(s.PodTemplatePatchType)
	if _, isList := s.PodTemplatePatch.([]any); isList && typ == "" {
		typ = runspec.PatchJSON
	}
	line := lineOf(root, at)
	data, err := json.Marshal(s.PodTemplatePatch)
	if err != nil {
		return fileError(file, line, "spec.podTemplatePatch: %v: write the patch as a mapping with string keys, or a list of json patch operations", err)
	}
	source := func(line int, path string) string {
		return fmt.Sprintf("definition file %q: line %d: %s", file, line, path)
	}
	p, err := runspec.ParsePodPatch(source(line, "spec.podTemplatePatch"), typ, data)
	if err != nil {
		if typ != "" && !slices.Contains(runspec.PatchTypes, typ) {
			return fileError(file, lineOf(root, []any{"spec", "podTemplatePatchType"}), "spec.podTemplatePatchType: %q is not strategic, merge or json", s.PodTemplatePatchType)
		}
		return err
	}
	sample := runspec.Spec{Name: sampleRunName, Image: "image", ReportDir: s.Reports.Dir, PodPatches: []runspec.PodPatch{p}}
	if _, err := runspec.Job(sample); err != nil {
		// An unknown field is reported at its own line in the patch, when it can be found there.
		if m := unknownPatchField.FindStringSubmatch(err.Error()); m != nil {
			if inner, ok := patchKeyLine(root, at, m[1]); ok {
				p.Source = source(inner, "spec.podTemplatePatch."+m[1])
				_, err = runspec.Job(runspec.Spec{Name: sampleRunName, Image: "image", ReportDir: s.Reports.Dir, PodPatches: []runspec.PodPatch{p}})
				p.Source = source(line, "spec.podTemplatePatch")
			}
		}
		return err
	}
	d.PodPatch = &p
	return nil
}

// unknownPatchField matches the strict decoder's message for a field the pod template does not have.
var unknownPatchField = regexp.MustCompile(`unknown field "([^"]+)"`)

// patchKeyLine returns the line of the key at the dotted path ("spec.containers[2].imagePullPolicyy") of
// the patched template inside the patch at at. A list index of the patched template need not be the patch's
// (a strategic merge patch holds only the items it changes), so at a list it descends into the first item
// that has the next key.
func patchKeyLine(root *yaml.Node, at []any, path string) (int, bool) {
	n := nodeAt(root, at)
	if n == nil {
		return 0, false
	}
	var keys []string
	for _, part := range strings.Split(path, ".") {
		name, _, _ := strings.Cut(part, "[")
		keys = append(keys, name)
	}
	line := 0
	for i, k := range keys {
		if n.Kind == yaml.SequenceNode {
			n = itemWithKey(n, k)
			if n == nil {
				return 0, false
			}
		}
		next := valueOf(n, k)
		if next == nil {
			return 0, false
		}
		line = keyLine(n, k)
		n = next
		if i == len(keys)-1 {
			return line, true
		}
	}
	return line, line > 0
}

// nodeAt returns the value node at a path of mapping keys, nil when it is not there.
func nodeAt(root *yaml.Node, path []any) *yaml.Node {
	n := root
	for _, elem := range path {
		k, ok := elem.(string)
		if !ok {
			return nil
		}
		if n = valueOf(n, k); n == nil {
			return nil
		}
	}
	return n
}

// valueOf returns the value of key k in mapping n, nil when n is no mapping or has no such key.
func valueOf(n *yaml.Node, k string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k {
			return n.Content[i+1]
		}
	}
	return nil
}

// keyLine returns the line of key k in mapping n.
func keyLine(n *yaml.Node, k string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k {
			return n.Content[i].Line
		}
	}
	return n.Line
}

// itemWithKey returns the first mapping of sequence n that has key k.
func itemWithKey(n *yaml.Node, k string) *yaml.Node {
	for _, c := range n.Content {
		if valueOf(c, k) != nil {
			return c
		}
	}
	return nil
}
