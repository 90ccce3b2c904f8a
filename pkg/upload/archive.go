package upload

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Item is one local file or directory and the entry of the upload volume's root it becomes.
type Item struct {
	// Local is the file or directory on the client. A directory's content is uploaded; a symlink named
	// here is followed.
	Local string
	// Name is its entry in the upload volume: a directory holding the content of a local directory, or the
	// file itself. One path component, not starting with ".".
	Name string
	// Skip are paths inside a directory Local, relative to it with '/' (".git", "out/reports"), that are
	// left out with everything under them.
	Skip []string
}

// Limits caps what one upload may send, so that a wrong path (a home directory, a build cache) fails at once
// with a clear error instead of filling the node's disk.
type Limits struct {
	// MaxBytes caps the sum of the regular files' sizes (--upload-max-bytes).
	MaxBytes int64
	// MaxFiles caps the number of files, directories and symlinks (--upload-max-files).
	MaxFiles int
}

// DefaultLimits returns the caps used when the user sets none: 1 GiB and 100000 entries.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 1 << 30, MaxFiles: 100000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	return l
}

// Summary counts what an upload holds.
type Summary struct {
	Files, Dirs, Symlinks int
	Bytes                 int64
}

// entry is one thing to upload: its archive name, where it is locally, and what it is.
type entry struct {
	name  string
	local string
	info  fs.FileInfo
	link  string
}

// Scan checks items without sending anything: every path exists and can be read, holds only regular files,
// directories and symlinks that stay inside it, and fits limits. It reads the directories and opens every
// file, so that an upload that would fail on its way fails before anything is created.
func Scan(items []Item, limits Limits) (Summary, error) {
	var sum Summary
	err := walk(items, limits.withDefaults(), &sum, func(e entry) error {
		if e.info.Mode().IsRegular() {
			f, err := os.Open(e.local)
			if err != nil {
				return fmt.Errorf("--upload: %w: make it readable, or leave it out of the upload", err)
			}
			_ = f.Close()
		}
		return nil
	})
	return sum, err
}

// Write writes items to w as a tar archive for the upload init container: a directory entry named after
// each directory item and its content below it, a file entry for each file item, and last a sha256 manifest
// of every regular file, made from the bytes written. Symlinks stay symlinks. Owners are not kept: the
// files belong to the init container's user, and the test may run as any other, so every file gets read
// permission for all (its execute and write bits stay as they are) and every directory rwx for all, as the
// emptyDir volume they are in has.
func Write(w io.Writer, items []Item, limits Limits) (Summary, error) {
	tw := tar.NewWriter(w)
	var manifest strings.Builder
	var sum Summary
	err := walk(items, limits.withDefaults(), &sum, func(e entry) error {
		hdr := &tar.Header{Name: e.name, Mode: int64(e.info.Mode().Perm()), ModTime: e.info.ModTime()}
		switch {
		case e.info.IsDir():
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, e.name+"/", hdr.Mode|0o777
		case e.link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.link
		default:
			hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, e.info.Size(), hdr.Mode|0o444
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing the upload of %q: %w", e.local, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		digest, err := copyFile(tw, e.local, hdr.Size)
		if err != nil {
			return err
		}
		manifest.WriteString(digest + "  " + e.name + "\n")
		return nil
	})
	if err != nil {
		return sum, err
	}
	m := manifest.String()
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: manifestFile, Mode: 0o644, Size: int64(len(m))}); err != nil {
		return sum, err
	}
	if _, err := io.WriteString(tw, m); err != nil {
		return sum, err
	}
	return sum, tw.Close()
}

// copyFile writes the size bytes of the local file to w and returns their sha256. A file that shrank since
// it was listed is an error; one that grew is sent as it was when listed.
func copyFile(w io.Writer, local string, size int64) (string, error) {
	f, err := os.Open(local)
	if err != nil {
		return "", fmt.Errorf("--upload: %w", err)
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	n, err := io.Copy(w, io.TeeReader(io.LimitReader(f, size), h))
	if err != nil {
		return "", fmt.Errorf("--upload: sending %q: %w", local, err)
	}
	if n != size {
		return "", fmt.Errorf("--upload: %q shrank from %d to %d bytes while it was sent: upload files nothing writes to", local, size, n)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// walk calls visit for every entry of items, in a stable order (a directory before its content, names
// sorted), after checking it and counting it into sum against limits.
func walk(items []Item, limits Limits, sum *Summary, visit func(entry) error) error {
	for _, it := range items {
		if err := checkName(it.Name); err != nil {
			return err
		}
		info, err := os.Stat(it.Local)
		if err != nil {
			return fmt.Errorf("--upload %q: %w: give an existing local file or directory", it.Local, unwrapPath(err))
		}
		if !info.IsDir() {
			if err := visitOne(entry{name: it.Name, local: it.Local, info: info}, it, limits, sum, visit); err != nil {
				return err
			}
			continue
		}
		// A directory named through a symlink is walked where it is: WalkDir does not follow its root.
		root, err := filepath.EvalSymlinks(it.Local)
		if err != nil {
			return fmt.Errorf("--upload %q: %w", it.Local, err)
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("--upload %q: %w: make it readable, or leave it out of the upload", it.Local, err)
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if p != root && slices.Contains(it.Skip, rel) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			e := entry{name: path.Join(it.Name, rel), local: p}
			if p == root {
				e.info = info
			} else if e.info, err = d.Info(); err != nil {
				return fmt.Errorf("--upload %q: %w", it.Local, err)
			}
			if e.info.Mode()&fs.ModeSymlink != 0 {
				if e.link, err = insideLink(it.Local, p, rel); err != nil {
					return err
				}
			}
			return visitOne(e, it, limits, sum, visit)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// visitOne checks e, counts it and visits it.
func visitOne(e entry, it Item, limits Limits, sum *Summary, visit func(entry) error) error {
	mode := e.info.Mode()
	switch {
	case strings.ContainsAny(e.name, "\n\r"):
		return fmt.Errorf("--upload %q: the name %q holds a line break, which the pod's check of the files cannot read: rename it, or leave it out of the upload", it.Local, e.local)
	case mode.IsDir():
		sum.Dirs++
	case mode&fs.ModeSymlink != 0:
		sum.Symlinks++
	case mode.IsRegular():
		sum.Files++
		sum.Bytes += e.info.Size()
		if sum.Bytes > limits.MaxBytes {
			return fmt.Errorf("--upload %q: the upload holds more than %d bytes (--upload-max-bytes), %q included: upload less, or raise --upload-max-bytes", it.Local, limits.MaxBytes, e.local)
		}
	default:
		return fmt.Errorf("--upload %q: %q is a %s, not a regular file, directory or symlink: leave it out of the upload", it.Local, e.local, kind(mode))
	}
	if n := sum.Files + sum.Dirs + sum.Symlinks; n > limits.MaxFiles {
		return fmt.Errorf("--upload %q: the upload holds more than %d files, directories and symlinks (--upload-max-files): upload less, or raise --upload-max-files", it.Local, limits.MaxFiles)
	}
	return visit(e)
}

// insideLink returns the target of the symlink p (at rel under root), or an error when it points outside
// root: an absolute target, or a relative one that climbs out. Such a link would expose, in the pod, a path
// the user did not upload; a copy of its target is what they want there.
func insideLink(root, p, rel string) (string, error) {
	target, err := os.Readlink(p)
	if err != nil {
		return "", fmt.Errorf("--upload %q: %w", root, err)
	}
	t := filepath.ToSlash(target)
	if path.IsAbs(t) || filepath.IsAbs(target) {
		return "", fmt.Errorf("--upload %q: the symlink %q points outside the uploaded directory (to %q): replace it with a copy, or with a relative link inside the directory", root, p, target)
	}
	if j := path.Join(path.Dir(rel), t); j == ".." || strings.HasPrefix(j, "../") {
		return "", fmt.Errorf("--upload %q: the symlink %q points outside the uploaded directory (to %q): replace it with a copy, or upload the directory it points into", root, p, target)
	}
	return t, nil
}

// checkName refuses an item name the upload volume's root cannot hold beside its control files.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/\\\n\r") {
		return fmt.Errorf("upload item name %q is not one path component that does not start with '.'", name)
	}
	return nil
}

// kind names a file mode that cannot be uploaded.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// unwrapPath drops the "stat PATH:" of an error about a path the message names already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
