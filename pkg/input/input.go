// Package input reads what a user hands the plugin as files (test definitions, the global configuration,
// flow documents, stdin) within bounds. Such files may come from a pull request nobody has reviewed yet, so
// a hostile one must not be able to exhaust the memory of a CI runner: reading stops one byte past a cap,
// also on an endless source such as /dev/zero or a FIFO, and a YAML document may not grow past a cap by
// expanding its aliases.
package input

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes is the largest file the plugin reads as a definition, a configuration or a flow. The largest
// useful definition carries configuration files of at most the 256 KiB a pod's annotations hold, so 1 MiB
// leaves room and still bounds a hostile file.
const MaxFileBytes = 1 << 20

// MaxExpandedBytes bounds a YAML document with its aliases expanded: every scalar's bytes plus one for every
// node (see CheckAliases). A document without aliases is bounded by MaxFileBytes alone.
const MaxExpandedBytes = 2 * MaxFileBytes

// TooLargeError is returned when a file holds more than a cap.
type TooLargeError struct {
	// Name names the file in messages: a path, "-" for stdin.
	Name string
	// Max is the cap in bytes.
	Max int64
}

// Error implements error.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%q holds more than %d bytes, the most a definition or flow file may hold: give a smaller file (configuration files too large for it belong in a ConfigMap or Secret)", e.Name, e.Max)
}

// Read reads all of r, but never more than limit+1 bytes: when r holds more than limit bytes, it returns a
// *TooLargeError naming name. Memory is bounded by limit whatever r is (a regular file, a pipe, /dev/zero).
func Read(r io.Reader, name string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Name: name, Max: limit}
	}
	return data, nil
}

// ReadPath reads the file at path within limit bytes (see Read). A FIFO or a character device is read like
// any stream, so that `-f <(generate)` works; a directory is refused.
func ReadPath(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return nil, fmt.Errorf("%q is a directory, not a file", path)
	}
	return Read(f, path, limit)
}

// ReadFS reads the file name of fsys within limit bytes (see Read); name is shown in errors as shown. Only a
// regular file is read: a FIFO or a device found in a directory of definitions is refused rather than
// opened, since opening a FIFO blocks until someone writes to it.
func ReadFS(fsys fs.FS, name, shown string, limit int64) ([]byte, error) {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%q is not a regular file (%s): remove it, or give it another extension than .yaml", shown, info.Mode().Type())
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, shown, limit)
}

// ErrAliasLoop is returned by CheckAliases for an alias inside the node its anchor names.
var ErrAliasLoop = errors.New("an alias refers to a node that contains it")

// AliasBombError is returned by CheckAliases for a document whose aliases expand past the cap.
type AliasBombError struct {
	// Max is the cap on the expanded size.
	Max int64
}

// Error implements error.
func (e *AliasBombError) Error() string {
	return fmt.Sprintf("its YAML aliases (*name) expand it to more than %d bytes: write the values out, or repeat fewer of them", e.Max)
}

// CheckAliases measures the document under root as a decoder would see it, every alias replaced by the node
// its anchor names, and returns an *AliasBombError when that exceeds limit. A node weighs one plus the bytes of
// its value (scalars, keys included). The YAML library bounds aliasing by the ratio of aliased nodes to all
// nodes decoded, which a few large scalars referenced thousands of times pass: 20,000 references to a 100 KB
// string are 40,000 decoded nodes and 2 GB of strings. Weighing bytes catches that; the measure is memoized
// per node and saturates at limit, so it costs one walk of the parsed tree whatever the expansion.
func CheckAliases(root *yaml.Node, limit int64) error {
	m := &aliasMeter{max: limit, weight: map[*yaml.Node]int64{}, open: map[*yaml.Node]bool{}}
	w, err := m.measure(root)
	if err != nil {
		return err
	}
	if w > limit {
		return &AliasBombError{Max: limit}
	}
	return nil
}

// aliasMeter weighs nodes with their aliases expanded (see CheckAliases).
type aliasMeter struct {
	max    int64
	weight map[*yaml.Node]int64
	open   map[*yaml.Node]bool // nodes being measured, to tell a loop from a shared node
}

func (m *aliasMeter) measure(n *yaml.Node) (int64, error) {
	if n == nil {
		return 0, nil
	}
	if w, ok := m.weight[n]; ok {
		return w, nil
	}
	if m.open[n] {
		return 0, ErrAliasLoop
	}
	m.open[n] = true
	defer delete(m.open, n)
	w := 1 + int64(len(n.Value))
	if n.Kind == yaml.AliasNode {
		aw, err := m.measure(n.Alias)
		if err != nil {
			return 0, err
		}
		w = m.add(w, aw)
	}
	for _, c := range n.Content {
		cw, err := m.measure(c)
		if err != nil {
			return 0, err
		}
		w = m.add(w, cw)
	}
	m.weight[n] = w
	return w, nil
}

// add adds without overflowing: anything past max counts as max+1.
func (m *aliasMeter) add(a, b int64) int64 {
	if a > m.max || b > m.max || a > m.max-b {
		return m.max + 1
	}
	return a + b
}
