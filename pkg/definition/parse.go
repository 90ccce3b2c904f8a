package definition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/agnivade/levenshtein"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/input"
)

// Parse reads one TestDefinition document from data, strictly: an unknown field, a value of the wrong type, a
// second document or a value that would not run is an error naming file, the line and the field. file is
// only used in errors.
func Parse(file string, data []byte) (*Definition, error) {
	var d Definition
	root, err := decode(file, data, &d)
	if err != nil {
		return nil, err
	}
	if err := locate(file, root, d.validate()); err != nil {
		return nil, err
	}
	if err := d.checkPodPatch(file, root); err != nil {
		return nil, err
	}
	return &d, nil
}

// ParseConfig reads one TestConfig document from data, as strictly as Parse.
func ParseConfig(file string, data []byte) (*TestConfig, error) {
	var c TestConfig
	root, err := decode(file, data, &c)
	if err != nil {
		return nil, err
	}
	if err := locate(file, root, c.validate()); err != nil {
		return nil, err
	}
	return &c, nil
}

// Kind returns the apiVersion and kind of the single document in data, so that a directory can hold both
// kinds. A document that does not parse is reported as Parse would.
func Kind(file string, data []byte) (apiVersion, kind string, err error) {
	root, err := parseNode(file, data)
	if err != nil {
		return "", "", err
	}
	var head struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
	}
	if err := root.Decode(&head); err != nil {
		return "", "", fileError(file, root.Line, "the document is not a mapping with apiVersion and kind: start it with apiVersion: %s", APIVersion)
	}
	return head.APIVersion, head.Kind, nil
}

// decode parses data as one YAML document and decodes it into out, rejecting unknown fields. It returns the
// document's node tree, so later errors can name lines too.
func decode(file string, data []byte, out any) (*yaml.Node, error) {
	root, err := parseNode(file, data)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		var typeErr *yaml.TypeError
		if !errors.As(err, &typeErr) {
			return nil, fmt.Errorf("definition file %q: %w", file, err)
		}
		errs := make([]error, 0, len(typeErr.Errors))
		for _, msg := range typeErr.Errors {
			errs = append(errs, explain(file, root, reflect.TypeOf(out).Elem(), msg))
		}
		return nil, errors.Join(errs...)
	}
	return root, nil
}

// parseNode parses data into its node tree, refusing an empty file and more than one document.
func parseNode(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("definition file %q is empty: start it with apiVersion: %s (see docs/definitions.md)", file, APIVersion)
		}
		return nil, syntaxError(file, err)
	}
	if err := input.CheckAliases(&doc, input.MaxExpandedBytes); err != nil {
		return nil, fmt.Errorf("definition file %q: %w", file, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fileError(file, next.Line, "a second YAML document: put each definition in a file of its own")
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(file, err)
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fileError(file, root.Line, "the document is not a mapping: start it with apiVersion: %s (see docs/definitions.md)", APIVersion)
	}
	return root, nil
}

// yamlLine matches the "line N: " the YAML parser puts in its messages.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError words a YAML syntax error as "definition file F: line N: ...".
func syntaxError(file string, err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return fileError(file, line, "%s: fix the YAML syntax", m[2])
	}
	return fmt.Errorf("definition file %q: %w: fix the YAML syntax", file, err)
}

// fileError is an error at a line of a file, in the one shape every error of this package has.
func fileError(file string, line int, format string, args ...any) error {
	return fmt.Errorf("definition file %q: line %d: %s", file, line, fmt.Sprintf(format, args...))
}

var (
	// unknownField matches the decoder's message for a field the type does not have.
	unknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)
	// wrongType matches the decoder's message for a value of the wrong type.
	wrongType = regexp.MustCompile(`^line (\d+): cannot unmarshal (.*) into (.+)$`)
)

// explain turns one of the decoder's messages into an error naming the file, the line and the field, with
// the closest known field name as the likely fix.
func explain(file string, root *yaml.Node, top reflect.Type, msg string) error {
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		field, typeName := m[2], m[3]
		path := keyPath(root, line, field)
		known := fieldsOf(top, typeName)
		where := "the top level"
		if i := strings.LastIndex(path, "."); i > 0 {
			where = path[:i]
		}
		if guess := closest(field, known); guess != "" {
			return fileError(file, line, "unknown field %q in %s: did you mean %q?", field, where, guess)
		}
		return fileError(file, line, "unknown field %q in %s: the fields there are %s (see docs/definitions.md)", field, where, strings.Join(known, ", "))
	}
	if m := wrongType.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return fileError(file, line, "cannot use %s as %s: fix the value (see docs/definitions.md)", m[2], goTypeWords(m[3]))
	}
	return fmt.Errorf("definition file %q: %s", file, msg)
}

// goTypeWords says a Go type of the format in words.
func goTypeWords(t string) string {
	switch t {
	case "string", "definition.ConfigType":
		return "a string"
	case "[]string":
		return "a list of strings"
	case "map[string]string":
		return "a map of strings to strings"
	}
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "definition."), strings.HasPrefix(t, "*definition."):
		return "a mapping"
	}
	return t
}

// keyPath returns the dotted path ("spec.config[1].valueFrom.secretKeyRef.nme") of the mapping key named field on line,
// or field alone when it cannot be found.
func keyPath(root *yaml.Node, line int, field string) string {
	var walk func(n *yaml.Node, path string) string
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinPath(path, k.Value)
				if k.Line == line && k.Value == field {
					return p
				}
				if found := walk(v, p); found != "" {
					return found
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if found := walk(c, fmt.Sprintf("%s[%d]", path, i)); found != "" {
					return found
				}
			}
		}
		return ""
	}
	if p := walk(root, ""); p != "" {
		return p
	}
	return field
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldsOf returns the YAML field names of the struct type named typeName ("definition.Spec") reachable from
// top, in declaration order.
func fieldsOf(top reflect.Type, typeName string) []string {
	seen := map[reflect.Type]bool{}
	var find func(t reflect.Type) []string
	find = func(t reflect.Type) []string {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return nil
		}
		seen[t] = true
		var names []string
		for f := range t.Fields() {
			if name := yamlName(f); name != "" {
				names = append(names, name)
			}
		}
		if t.String() == typeName {
			return names
		}
		for f := range t.Fields() {
			if found := find(f.Type); found != nil {
				return found
			}
		}
		return nil
	}
	return find(top)
}

// yamlName returns the field's name in YAML, "" for a field that is not part of the document.
func yamlName(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// closest returns the known name nearest to field (equal ignoring case, or at most two edits away), or "".
func closest(field string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, field) {
			return k
		}
		if d := levenshtein.ComputeDistance(strings.ToLower(field), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// problem is a value that does not validate, at a path of the document.
type problem struct {
	path []any // field names (string) and list indexes (int)
	msg  string
}

// problems collects what validation finds.
type problems []problem

func (ps *problems) add(path []any, format string, args ...any) {
	*ps = append(*ps, problem{path: slices.Clone(path), msg: fmt.Sprintf(format, args...)})
}

// locate turns problems into errors naming the file, the line and the field; nil when there are none.
func locate(file string, root *yaml.Node, ps problems) error {
	errs := make([]error, 0, len(ps))
	for _, p := range ps {
		errs = append(errs, fileError(file, lineOf(root, p.path), "%s: %s", pathString(p.path), p.msg))
	}
	return errors.Join(errs...)
}

// lineOf returns the line of the node at path, or of its nearest ancestor present in the document (a
// missing field is reported where its parent is).
func lineOf(root *yaml.Node, path []any) int {
	n, line := root, root.Line
	for _, elem := range path {
		switch e := elem.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == e {
					line, n, found = n.Content[i].Line, n.Content[i+1], true
					break
				}
			}
			if !found {
				return line
			}
		case int:
			if n.Kind != yaml.SequenceNode || e >= len(n.Content) {
				return line
			}
			n = n.Content[e]
			line = n.Line
		}
	}
	return line
}

// pathString renders a path as "spec.config[1].path".
func pathString(path []any) string {
	var b strings.Builder
	for _, elem := range path {
		switch e := elem.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e)
		case int:
			fmt.Fprintf(&b, "[%d]", e)
		}
	}
	return b.String()
}
