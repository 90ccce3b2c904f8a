package cmdkit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CheckDestination makes sure, before anything is created in the cluster, that the local directory dir can
// receive a copy: that it is empty or new (what it holds afterwards must have come from this run), and that it
// can be created and written. The second is proven by doing it: the missing directories are created and a
// file is written in dir, then everything the check created is removed again. So a destination that cannot
// work (in /proc, behind a dangling symbolic link, with a file in the way, read-only) is refused up front,
// instead of losing the reports after the test ran.
func CheckDestination(flag, dir string) error {
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		return fmt.Errorf("%s %q is not empty: choose an empty or new directory, so that what it holds afterwards came from this run", flag, dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %q cannot be used: %w: choose a directory you can create and write", flag, dir, err)
	}
	if info, lerr := os.Lstat(dir); lerr == nil && info.Mode()&fs.ModeSymlink != 0 && err != nil {
		target, _ := os.Readlink(dir)
		return fmt.Errorf("%s %q is a symbolic link to %q, which does not exist: create the directory it points to, or choose another", flag, dir, target)
	}
	// The directories the check creates, deepest first, to remove them afterwards.
	var created []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		created = append(created, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	defer func() {
		for _, d := range created {
			_ = os.Remove(d)
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s %q cannot be created: %w: choose a directory you can create and write", flag, dir, err)
	}
	probe, err := os.CreateTemp(dir, ".testrun-probe-*")
	if err != nil {
		return fmt.Errorf("%s %q cannot be written: %w: choose a directory you can write", flag, dir, err)
	}
	_ = probe.Close()
	return os.Remove(probe.Name())
}
