package definition

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/input"
)

// LocalDir is the directory of a repository that holds its definitions and its global configuration,
// relative to the working directory.
const LocalDir = ".testrun"

// ConfigFileName is the file in LocalDir that holds the global configuration (kind TestConfig); every other
// *.yaml or *.yml file there holds one definition.
const ConfigFileName = "config.yaml"

// Catalog is every definition available to a run: the repository's own, found in its .testrun/ directory,
// and the shipped plugins carried in the binary.
type Catalog struct {
	// Local are the definitions of .testrun/, by file name.
	Local []*Definition
	// Shipped are the plugins carried in the binary, by file name.
	Shipped []*Definition
	// Config is the global configuration of .testrun/config.yaml; nil when there is none.
	Config *TestConfig
	// Flows are the test flows of .testrun/ (kind TestFlow), by file name.
	Flows []*Flow
}

// Discover reads the definitions and the global configuration of local (the .testrun directory, shown in
// errors as dir; a missing directory holds nothing) and the shipped plugins of shipped. Every file is parsed
// strictly: one that does not parse fails the whole discovery, so a typo never hides a definition. Two local
// definitions with the same name are an error too.
func Discover(local fs.FS, dir string, shipped fs.FS) (*Catalog, error) {
	c := &Catalog{}
	var err error
	if c.Shipped, _, _, err = readDir(shipped, "plugins", OriginShipped, false); err != nil {
		return nil, err
	}
	if c.Local, c.Config, c.Flows, err = readDir(local, dir, OriginLocal, true); err != nil {
		return nil, err
	}
	return c, nil
}

// DiscoverShipped reads the shipped plugins and the global configuration of local alone, for a run that
// needs no other definition of the repository: one of them that does not parse does not stop it.
func DiscoverShipped(local fs.FS, dir string, shipped fs.FS) (*Catalog, error) {
	c := &Catalog{}
	var err error
	if c.Shipped, _, _, err = readDir(shipped, "plugins", OriginShipped, false); err != nil {
		return nil, err
	}
	data, err := input.ReadFS(local, ConfigFileName, filepath.Join(dir, ConfigFileName), input.MaxFileBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("reading %q: %w", filepath.Join(dir, ConfigFileName), err)
	}
	if c.Config, err = ParseConfig(filepath.Join(dir, ConfigFileName), data); err != nil {
		return nil, err
	}
	return c, nil
}

// readDir reads every *.yaml and *.yml file at the top of fsys, in name order. withConfig (a repository's
// own directory) also reads its global configuration and its flows.
func readDir(fsys fs.FS, dir string, origin Origin, withConfig bool) (defs []*Definition, config *TestConfig, flows []*Flow, err error) {
	entries, err := fs.ReadDir(fsys, ".")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading definitions in %q: %w", dir, err)
	}
	flowNames := map[string]string{}
	byName := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		ext := path.Ext(name)
		if e.IsDir() || strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		file := filepath.Join(dir, name)
		data, err := input.ReadFS(fsys, name, file, input.MaxFileBytes)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading definition file %q: %w", file, err)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			// An empty file holds no definition: `kubectl testrun plugins pytest -o yaml > .testrun/x.yaml`
			// has the shell create it before the command reads the directory.
			continue
		}
		isConfig := withConfig && name == ConfigFileName
		// The wrong kind in a file is said first, and alone: its fields would be reported as unknown too.
		kind := ""
		if _, k, err := Kind(file, data); err == nil {
			kind = k
			switch {
			case isConfig && (kind == KindDefinition || kind == KindFlow):
				return nil, nil, nil, fmt.Errorf("definition file %q holds a %s, but %s is the global TestConfig: move the %s to a file of its own in %s", file, kind, ConfigFileName, strings.ToLower(strings.TrimPrefix(kind, "Test")), dir)
			case !isConfig && kind == KindConfig:
				return nil, nil, nil, fmt.Errorf("definition file %q holds a TestConfig: the global configuration belongs in %s", file, filepath.Join(dir, ConfigFileName))
			}
		}
		if isConfig {
			if config, err = ParseConfig(file, data); err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		if withConfig && kind == KindFlow {
			f, err := ParseFlow(file, data)
			if err != nil {
				return nil, nil, nil, err
			}
			if other, ok := flowNames[f.Metadata.Name]; ok {
				return nil, nil, nil, fmt.Errorf("definition file %q: flow %q is also defined in %q: rename one of them", file, f.Metadata.Name, other)
			}
			flowNames[f.Metadata.Name] = file
			f.Source = Source{Origin: origin, File: file}
			flows = append(flows, f)
			continue
		}
		d, err := Parse(file, data)
		if err != nil {
			return nil, nil, nil, err
		}
		if other, ok := byName[d.Metadata.Name]; ok {
			return nil, nil, nil, fmt.Errorf("definition file %q: definition %q is also defined in %q: rename one of them", file, d.Metadata.Name, other)
		}
		byName[d.Metadata.Name] = file
		d.Source = Source{Origin: origin, File: file}
		defs = append(defs, d)
	}
	return defs, config, flows, nil
}

// FindFlow returns the flow of .testrun/ named name.
func (c *Catalog) FindFlow(name string) (*Flow, error) {
	for _, f := range c.Flows {
		if f.Metadata.Name == name {
			return f, nil
		}
	}
	known := make([]string, 0, len(c.Flows))
	for _, f := range c.Flows {
		known = append(known, f.Metadata.Name)
	}
	if len(known) == 0 {
		return nil, fmt.Errorf("no flow named %q: %s/ holds no flow (kind: %s); give one with -f FILE", name, LocalDir, KindFlow)
	}
	return nil, fmt.Errorf("no flow named %q in %s/: the flows there are %s", name, LocalDir, strings.Join(known, ", "))
}

// ReadFile parses the definition in data, read from file (-f), and marks it as given on the command line. A
// batch/v1 Job manifest is read by ReadJob.
func ReadFile(file string, data []byte) (*Definition, error) {
	if _, kind, err := Kind(file, data); err == nil && kind == KindJob {
		return ReadJob(file, data)
	}
	d, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	d.Source = Source{Origin: OriginFile, File: file}
	return d, nil
}

// All returns every definition, the local ones first, each once by name: a local definition shadows a
// shipped plugin of the same name.
func (c *Catalog) All() []*Definition {
	all := slices.Clone(c.Local)
	for _, d := range c.Shipped {
		if !slices.ContainsFunc(c.Local, func(l *Definition) bool { return l.Metadata.Name == d.Metadata.Name }) {
			all = append(all, d)
		}
	}
	return all
}

// Find returns the definition named name: the repository's own, else the shipped plugin.
func (c *Catalog) Find(name string) (*Definition, error) {
	for _, d := range c.All() {
		if d.Metadata.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("no definition named %q in %s/ or among the shipped plugins (%s): list them with kubectl testrun plugins", name, LocalDir, strings.Join(names(c.All()), ", "))
}

// Plugin returns the shipped plugin named name, even when a local definition has the same name.
func (c *Catalog) Plugin(name string) (*Definition, error) {
	for _, d := range c.Shipped {
		if d.Metadata.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("no shipped plugin named %q: use one of %s, or --definition for the ones in %s/", name, strings.Join(names(c.Shipped), ", "), LocalDir)
}

// Select returns every definition (as All gives them) whose metadata.labels selector matches.
func (c *Catalog) Select(selector labels.Selector) []*Definition {
	var matched []*Definition
	for _, d := range c.All() {
		if selector.Matches(labels.Set(d.Metadata.Labels)) {
			matched = append(matched, d)
		}
	}
	return matched
}

// GlobalConfig returns the entries of .testrun/config.yaml, if any.
func (c *Catalog) GlobalConfig() []Config {
	if c.Config == nil {
		return nil
	}
	return c.Config.Spec.Config
}

func names(defs []*Definition) []string {
	out := make([]string, 0, len(defs))
	for _, d := range defs {
		out = append(out, d.Metadata.Name)
	}
	return out
}
