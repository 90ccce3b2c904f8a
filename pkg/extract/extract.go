// Package extract unpacks a tar stream that came out of a pod into a local
// directory and checks the result against a sha256 manifest made in the pod.
//
// The archive is written by a container the user may not trust, so extraction
// is a security boundary (docs/design.md, "Extraction is a security boundary"):
// each entry is checked before any of it is written, all writes go through an
// [os.Root] so no path can resolve outside the destination, only regular files
// and directories are ever created, and the amount of data is capped. Any
// violation aborts the extraction with an error; nothing is skipped silently.
package extract

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
	"strconv"
	"strings"
)

// Limits caps what an archive may make the extractor write.
//
// A zero field takes its value from [DefaultLimits]; a negative field is an
// error.
type Limits struct {
	MaxTotalBytes int64 // sum of regular file sizes
	MaxFileBytes  int64 // one file
	MaxEntries    int   // tar headers of any kind
	MaxDepth      int   // path components
}

// DefaultLimits returns the caps used when the user sets none: 4 GiB in
// total, 2 GiB per file, 100000 entries and 64 path components.
func DefaultLimits() Limits {
	return Limits{
		MaxTotalBytes: 4 << 30,
		MaxFileBytes:  2 << 30,
		MaxEntries:    100000,
		MaxDepth:      64,
	}
}

// File describes one regular file written by [Extract].
type File struct {
	Path   string // slash-separated, relative to the destination, clean (no "./" prefix)
	Size   int64
	SHA256 string // lowercase hex, computed while writing
}

// blockSize is the tar block size; a complete archive ends with two zero
// blocks.
const blockSize = 512

// maxNameBytes is PATH_MAX on Linux; longer names cannot be created anyway,
// and refusing them early keeps megabyte-long PAX names out of OS errors.
const maxNameBytes = 4096

// copyBufferSize is the only buffer file data passes through, so memory use
// does not depend on the size of the files.
const copyBufferSize = 32 << 10

// Extract reads the tar stream r and writes its directories and regular files
// under dir.
//
// dir (and its parents) is created if needed and must be empty. Entries are
// refused, and the extraction stops with an error naming the entry, when the
// name is empty, absolute, has a ".." component, a backslash, a NUL byte or a
// Windows drive letter, or is deeper than limits.MaxDepth; when the entry is
// anything but a regular file or a directory; when a file's path already
// exists; and when a cap in limits is exceeded. A stream that ends before the
// end-of-archive marker (two zero blocks) is an error too; bytes after the
// marker are never read. Owners, times and setuid, setgid and sticky bits are
// ignored: files are created 0644, or 0755 when the archive marks them
// executable, and directories 0755 (before umask).
//
// The returned files are sorted by Path. On error they are the files that were
// completely written before it; they stay in dir, are not verified, and the
// directory must not be treated as a complete result. A file that was being
// written when the error happened is removed. Extract stops at the end marker
// and does not drain or close r.
func Extract(r io.Reader, dir string, limits Limits) ([]File, error) {
	limits, err := limits.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := prepareDestination(dir); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening destination %q: %w", dir, err)
	}
	defer root.Close()

	x := &extractor{root: root, limits: limits, buf: make([]byte, copyBufferSize)}
	err = x.run(r)
	slices.SortFunc(x.files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	if err != nil {
		return x.files, fmt.Errorf("extraction into %q stopped after %d complete file(s), the directory is incomplete and must not be used as the full result: %w",
			dir, len(x.files), err)
	}
	return x.files, nil
}

// withDefaults fills zero fields from DefaultLimits and rejects negative ones.
func (l Limits) withDefaults() (Limits, error) {
	d := DefaultLimits()
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxTotalBytes", l.MaxTotalBytes},
		{"MaxFileBytes", l.MaxFileBytes},
		{"MaxEntries", int64(l.MaxEntries)},
		{"MaxDepth", int64(l.MaxDepth)},
	} {
		if f.v < 0 {
			return l, fmt.Errorf("invalid extraction limits: %s is %d: use a positive value, or 0 for the default", f.name, f.v)
		}
	}
	if l.MaxTotalBytes == 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
	if l.MaxFileBytes == 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxEntries == 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = d.MaxDepth
	}
	return l, nil
}

// prepareDestination creates dir and refuses it when it already has content,
// so every path in it afterwards came from the archive.
func prepareDestination(dir string) error {
	if dir == "" {
		return errors.New("no destination directory given: choose an empty or new directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating destination %q: %w: choose an empty or new directory", dir, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening destination %q: %w", dir, err)
	}
	defer d.Close()
	names, err := d.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading destination %q: %w", dir, err)
	}
	if len(names) > 0 {
		return fmt.Errorf("destination %q is not empty (it contains %q): choose an empty or new directory", dir, names[0])
	}
	return nil
}

// extractor holds the state of one Extract call.
type extractor struct {
	root    *os.Root
	limits  Limits
	buf     []byte
	files   []File
	total   int64 // bytes of regular files written so far
	entries int   // headers returned by tar.Reader.Next so far
	last    string
}

// countingReader counts the bytes tar.Reader consumes and how many of the
// last ones were zero. tar.Reader reports io.EOF both for a proper
// end-of-archive marker and for a stream that simply stopped between entries;
// these two figures tell them apart. It deliberately does not implement
// io.Seeker, so the tar reader reads (and so checks) every byte it skips.
type countingReader struct {
	r       io.Reader
	n       int64 // bytes consumed
	zeroRun int64 // consecutive zero bytes at the end of what was consumed
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	i := n - 1
	for i >= 0 && p[i] == 0 {
		i--
	}
	if i < 0 {
		c.zeroRun += int64(n)
	} else {
		c.zeroRun = int64(n - 1 - i)
	}
	return n, err
}

// endedProperly reports whether the Next call that started at offset before
// and returned io.EOF consumed the two zero blocks of an end marker. The
// previous entry's data has been read to its end by then, so Next consumed
// only its padding (less than a block) and header blocks.
func (c *countingReader) endedProperly(before int64) bool {
	return c.n-before >= 2*blockSize && c.zeroRun >= 2*blockSize
}

func (x *extractor) run(r io.Reader) error {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	for {
		before := cr.n
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if !cr.endedProperly(before) {
				return fmt.Errorf("the archive ends %s without the end-of-archive marker: the stream was truncated, fetch again", x.where())
			}
			return nil
		}
		if err != nil {
			if hdr != nil && errors.Is(err, tar.ErrInsecurePath) {
				return fmt.Errorf("entry %s: %w: the archive tries to write outside the destination, refusing it", quote(hdr.Name), err)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("the archive ends in the middle of a header or its padding %s: the stream was truncated, fetch again: %w", x.where(), err)
			}
			return fmt.Errorf("reading the archive header %s: %w: the stream is corrupt or broken, fetch again", x.where(), err)
		}
		x.entries++
		if x.entries > x.limits.MaxEntries {
			return fmt.Errorf("entry %s: the archive has more than %d entries: raise the limit with --max-files if this is expected", quote(hdr.Name), x.limits.MaxEntries)
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("entry %s: %w", quote(hdr.Name), err)
		}
		x.last = hdr.Name
	}
}

// where says where in the archive the reader is, for error messages.
func (x *extractor) where() string {
	if x.entries == 0 {
		return "before its first entry"
	}
	return "after entry " + quote(x.last)
}

// quote quotes a name from the archive for an error message. PAX names can be
// a megabyte long, so long ones are cut.
func quote(name string) string {
	const limit = 256
	if len(name) <= limit {
		return strconv.Quote(name)
	}
	return strconv.Quote(name[:limit]) + "..."
}

func (x *extractor) entry(hdr *tar.Header, tr *tar.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeReg, '\x00': // '\x00' is the legacy regular-file flag (tar.TypeRegA)
		name, err := cleanName(hdr.Name, x.limits.MaxDepth)
		if err != nil {
			return err
		}
		return x.writeFile(hdr, name, tr)
	case tar.TypeDir:
		name, err := cleanName(hdr.Name, x.limits.MaxDepth)
		if err != nil {
			return err
		}
		if name == "." { // the archive's own root, e.g. "./"; dir already exists
			return nil
		}
		if err := x.root.MkdirAll(name, 0o755); err != nil {
			return fmt.Errorf("creating directory: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("%s entries are not allowed: only regular files and directories are extracted, refusing the archive", typeName(hdr))
	}
}

// typeName describes a refused entry type, with its target for links.
func typeName(hdr *tar.Header) string {
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		return "symbolic link (to " + quote(hdr.Linkname) + ")"
	case tar.TypeLink:
		return "hard link (to " + quote(hdr.Linkname) + ")"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO (named pipe)"
	case tar.TypeCont:
		return "contiguous file"
	case tar.TypeGNUSparse:
		return "GNU sparse file"
	case tar.TypeXGlobalHeader:
		return "PAX global header"
	default:
		return fmt.Sprintf("type %q", string(rune(hdr.Typeflag)))
	}
}

func (x *extractor) writeFile(hdr *tar.Header, name string, tr *tar.Reader) error {
	if base := hdr.Name[strings.LastIndexByte(hdr.Name, '/')+1:]; base == "" || base == "." {
		return errors.New("a regular file's name must not end with \"/\" or \"/.\", refusing the archive")
	}
	if name == "." {
		return errors.New("a regular file cannot be the destination directory itself, refusing the archive")
	}
	if hdr.Size > x.limits.MaxFileBytes {
		return fmt.Errorf("the file is %d bytes, over the per-file limit of %d bytes: raise it with --max-file-bytes if this is expected",
			hdr.Size, x.limits.MaxFileBytes)
	}
	remaining := x.limits.MaxTotalBytes - x.total
	if hdr.Size > remaining {
		return fmt.Errorf("the file is %d bytes, which takes the archive over the total limit of %d bytes: raise it with --max-bytes if this is expected",
			hdr.Size, x.limits.MaxTotalBytes)
	}
	if dir := path.Dir(name); dir != "." {
		if err := x.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating parent directory: %w", err)
		}
	}
	perm := os.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		perm = 0o755
	}
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("the path was already extracted (duplicate entry), refusing the archive: %w", err)
	}
	if err != nil {
		return fmt.Errorf("creating file: %w", err)
	}

	n, sum, err := x.copy(f, tr, hdr.Size, min(x.limits.MaxFileBytes, remaining))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing file: %w", cerr)
	}
	if err != nil {
		// A partly written file must never look like a fetched report.
		if rerr := x.root.Remove(name); rerr != nil {
			err = fmt.Errorf("%w (and removing the partial file failed: %w)", err, rerr)
		}
		return err
	}
	x.total += n
	x.files = append(x.files, File{Path: name, Size: n, SHA256: sum})
	return nil
}

// copy streams one file's data into f through the fixed buffer, hashing it
// on the way. The tar reader never yields more than the declared size, but the
// bytes are counted against limit anyway rather than trusting the header.
func (x *extractor) copy(f *os.File, tr io.Reader, size, limit int64) (int64, string, error) {
	h := sha256.New()
	// The anonymous wrappers hide ReaderFrom/WriterTo so io.CopyBuffer always
	// uses x.buf instead of allocating.
	dst := struct{ io.Writer }{io.MultiWriter(f, h)}
	src := struct{ io.Reader }{io.LimitReader(tr, limit+1)}
	n, err := io.CopyBuffer(dst, src, x.buf)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return n, "", fmt.Errorf("the archive ends after %d of the file's %d bytes: the stream was truncated, fetch again: %w", n, size, err)
	case err != nil:
		return n, "", fmt.Errorf("copying the file's data after %d of %d bytes: %w", n, size, err)
	case n > limit:
		return n, "", fmt.Errorf("the file has more data than the limits allow (%d bytes): raise --max-file-bytes or --max-bytes if this is expected", limit)
	case n != size:
		return n, "", fmt.Errorf("the file has %d bytes of data but its header says %d: the archive is corrupt, fetch again", n, size)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// cleanName checks an untrusted slash-separated name and returns it cleaned
// and relative ("./a//b" becomes "a/b"; the root itself is "."). The checks
// run on the raw name so that nothing is normalised away before it is judged:
// "a/../b" is refused even though it would clean to "b".
func cleanName(name string, maxDepth int) (string, error) {
	switch {
	case name == "":
		return "", errors.New("the name is empty, refusing the archive")
	case len(name) > maxNameBytes:
		return "", fmt.Errorf("the name is %d bytes long, more than the %d a path may have, refusing the archive", len(name), maxNameBytes)
	case strings.IndexByte(name, 0) >= 0:
		return "", errors.New("the name contains a NUL byte, refusing the archive")
	case strings.IndexByte(name, '\\') >= 0:
		return "", errors.New("the name contains a backslash, which is a path separator on Windows, refusing the archive")
	case strings.HasPrefix(name, "/"):
		return "", errors.New("the name is absolute, the archive tries to write outside the destination, refusing it")
	case hasDriveLetter(name):
		return "", errors.New("the name starts with a Windows drive letter, the archive tries to write outside the destination, refusing it")
	}
	for c := range strings.SplitSeq(name, "/") {
		if c == ".." {
			return "", errors.New("the name has a \"..\" component, the archive tries to write outside the destination, refusing it")
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return clean, nil
	}
	if depth := strings.Count(clean, "/") + 1; depth > maxDepth {
		return "", fmt.Errorf("the name has %d path components, more than the limit of %d, refusing the archive", depth, maxDepth)
	}
	// Defence in depth, and the checks that only matter on Windows (reserved
	// names such as NUL or COM1, colons).
	if !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", errors.New("the name is not a local path on this system, refusing the archive")
	}
	return clean, nil
}

// hasDriveLetter reports whether name starts like "C:".
func hasDriveLetter(name string) bool {
	if len(name) < 2 || name[1] != ':' {
		return false
	}
	c := name[0] | 0x20 // lower case for ASCII letters
	return c >= 'a' && c <= 'z'
}
