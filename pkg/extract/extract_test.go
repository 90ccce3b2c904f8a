package extract

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ent is one archive entry for the test builders.
type ent struct {
	hdr  tar.Header
	body string
	// headerOnly writes the header and stops the archive there, for headers
	// that declare more data than the test wants to produce.
	headerOnly bool
}

func file(name, body string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func dir(name string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755}}
}

func link(typ byte, name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: typ, Name: name, Linkname: target, Mode: 0o777}}
}

func device(typ byte, name string) ent {
	return ent{hdr: tar.Header{Typeflag: typ, Name: name, Mode: 0o666, Devmajor: 1, Devminor: 3}}
}

// archive builds a complete tar stream (with its end marker) in memory.
func archive(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("building test archive: header %q: %v", h.Name, err)
		}
		if e.headerOnly {
			return buf.Bytes()
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatalf("building test archive: body of %q: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("building test archive: %v", err)
	}
	return buf.Bytes()
}

// rewriteHeader edits the header block at off in a built archive and fixes
// its checksum, for headers tar.Writer refuses to write.
func rewriteHeader(b []byte, off int, edit func(blk []byte)) []byte {
	b = bytes.Clone(b)
	blk := b[off : off+512]
	edit(blk)
	const chksumOff, chksumLen = 148, 8
	copy(blk[chksumOff:chksumOff+chksumLen], "        ")
	var sum int64
	for _, c := range blk {
		sum += int64(c)
	}
	copy(blk[chksumOff:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

const dirMark = "<dir>"

// tree describes everything under dir: regular files by content, directories
// as dirMark and anything else by its type, so an unexpected symlink or device
// shows up in a diff.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			got[rel] = string(b)
		case d.IsDir():
			got[rel] = dirMark
		default:
			got[rel] = "<" + d.Type().String() + ">"
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %q: %v", dir, err)
	}
	return got
}

// outside returns what exists under parent but outside dest.
func outside(t testing.TB, parent, dest string) map[string]string {
	t.Helper()
	rel, err := filepath.Rel(parent, dest)
	if err != nil {
		t.Fatal(err)
	}
	rel = filepath.ToSlash(rel)
	got := tree(t, parent)
	for p := range got {
		if p == rel || strings.HasPrefix(p, rel+"/") {
			delete(got, p)
		}
	}
	return got
}

func TestExtract(t *testing.T) {
	binary := strings.Repeat(string(func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}()), 3)
	crlf := "<?xml version=\"1.0\"?>\r\n<testsuites>\r\n</testsuites>\r\n"
	long := strings.Repeat("long-directory-name/", 8) + "report.xml"
	exe := file("./bin/run.sh", "#!/bin/sh\n")
	exe.hdr.Mode = 0o755
	gnu := file("./"+strings.Repeat("g", 120)+".txt", "gnu long name")
	gnu.hdr.Format = tar.FormatGNU

	tests := []struct {
		name      string
		archive   []byte
		wantFiles []File
		wantTree  map[string]string
	}{
		{
			name: "nested directories and files with exact bytes",
			archive: archive(t,
				dir("./"),
				dir("./reports/"),
				file("./reports/junit.xml", crlf),
				dir("./reports/bin/"),
				file("./reports/bin/blob", binary),
				file("top.txt", "top\n"),
				file("empty", ""),
				exe,
			),
			wantFiles: []File{
				{Path: "bin/run.sh", Size: 10, SHA256: sha("#!/bin/sh\n")},
				{Path: "empty", Size: 0, SHA256: sha("")},
				{Path: "reports/bin/blob", Size: int64(len(binary)), SHA256: sha(binary)},
				{Path: "reports/junit.xml", Size: int64(len(crlf)), SHA256: sha(crlf)},
				{Path: "top.txt", Size: 4, SHA256: sha("top\n")},
			},
			wantTree: map[string]string{
				"bin":               dirMark,
				"bin/run.sh":        "#!/bin/sh\n",
				"empty":             "",
				"reports":           dirMark,
				"reports/bin":       dirMark,
				"reports/bin/blob":  binary,
				"reports/junit.xml": crlf,
				"top.txt":           "top\n",
			},
		},
		{
			name: "dot slash prefixes, double slashes and dot components are normalised",
			archive: archive(t,
				dir("./a/"),
				dir("./a/"), // a directory entry for an existing directory is fine
				file("./a//b/./c.txt", "c"),
				dir(".//a/b/"),
				dir("."),
			),
			wantFiles: []File{{Path: "a/b/c.txt", Size: 1, SHA256: sha("c")}},
			wantTree:  map[string]string{"a": dirMark, "a/b": dirMark, "a/b/c.txt": "c"},
		},
		{
			name:      "parents of a file are created without directory entries",
			archive:   archive(t, file("x/y/z.txt", "z")),
			wantFiles: []File{{Path: "x/y/z.txt", Size: 1, SHA256: sha("z")}},
			wantTree:  map[string]string{"x": dirMark, "x/y": dirMark, "x/y/z.txt": "z"},
		},
		{
			name:      "long names in PAX and GNU formats",
			archive:   archive(t, file(long, "pax"), gnu),
			wantFiles: []File{{Path: gnu.hdr.Name[2:], Size: 13, SHA256: sha("gnu long name")}, {Path: long, Size: 3, SHA256: sha("pax")}},
			wantTree: func() map[string]string {
				m := map[string]string{gnu.hdr.Name[2:]: "gnu long name", long: "pax"}
				for d := strings.TrimSuffix(long, "/report.xml"); d != "."; d = filepath.ToSlash(filepath.Dir(d)) {
					m[d] = dirMark
				}
				return m
			}(),
		},
		{
			name:      "trailing garbage after the end marker is ignored",
			archive:   append(archive(t, file("a", "a")), "garbage that is not a tar header"...),
			wantFiles: []File{{Path: "a", Size: 1, SHA256: sha("a")}},
			wantTree:  map[string]string{"a": "a"},
		},
		{
			name:      "empty archive",
			archive:   archive(t),
			wantFiles: nil,
			wantTree:  map[string]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "new", "dest")
			got, err := Extract(bytes.NewReader(tc.archive), dest, DefaultLimits())
			if err != nil {
				t.Fatalf("Extract() error = %v, want none", err)
			}
			if diff := cmp.Diff(tc.wantFiles, got); diff != "" {
				t.Errorf("Extract() files mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantTree, tree(t, dest)); diff != "" {
				t.Errorf("destination contents mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]string{"new": dirMark}, outside(t, parent, dest)); diff != "" {
				t.Errorf("files outside the destination (-want +got):\n%s", diff)
			}
		})
	}
}

// hostileCase is an archive Extract must refuse. Its archive may aim at bait,
// an absolute directory outside the destination.
type hostileCase struct {
	name    string
	archive func(t testing.TB, bait string) []byte
	limits  Limits
	// wantErr are substrings of the error.
	wantErr []string
	// wantTree is what the destination holds afterwards: only what was
	// extracted completely before the refused entry.
	wantTree map[string]string
}

func hostileCases() []hostileCase {
	build := func(ents ...ent) func(testing.TB, string) []byte {
		return func(t testing.TB, _ string) []byte { return archive(t, ents...) }
	}
	cut := func(n func(full []byte) int, ents ...ent) func(testing.TB, string) []byte {
		return func(t testing.TB, _ string) []byte {
			full := archive(t, ents...)
			return full[:n(full)]
		}
	}
	setuid := file("suid", "x")
	setuid.hdr.Mode = 0o4755
	bigDeclared := file("huge.bin", "")
	bigDeclared.hdr.Size = 1 << 40
	bigDeclared.headerOnly = true
	// tar.Writer refuses a regular file whose name ends in "/", so rename
	// it in the raw header.
	regularNamed := func(name string) func(testing.TB, string) []byte {
		return func(t testing.TB, _ string) []byte {
			b := archive(t, file(strings.Repeat("x", len(name)), ""))
			return rewriteHeader(b, 0, func(blk []byte) { copy(blk, name) })
		}
	}
	kilobyte := strings.Repeat("k", 1000)

	return []hostileCase{
		{
			name: "absolute path",
			archive: func(t testing.TB, bait string) []byte {
				return archive(t, file(filepath.ToSlash(bait)+"/pwned", "x"))
			},
			wantErr:  []string{"absolute"},
			wantTree: map[string]string{},
		},
		{
			name:     "dot dot escape",
			archive:  build(file("../outside/pwned", "x")),
			wantErr:  []string{`"../outside/pwned"`, `".."`},
			wantTree: map[string]string{},
		},
		{
			name:     "dot dot escape after good files",
			archive:  build(dir("a/"), file("a/ok", "ok"), file("a/../../outside/pwned", "x")),
			wantErr:  []string{`"a/../../outside/pwned"`, `".."`},
			wantTree: map[string]string{"a": dirMark, "a/ok": "ok"},
		},
		{
			name:     "dot dot that stays inside is refused too",
			archive:  build(file("a/../b", "x")),
			wantErr:  []string{`".."`},
			wantTree: map[string]string{},
		},
		{
			name:     "backslash",
			archive:  build(file(`..\outside\pwned`, "x")),
			wantErr:  []string{"backslash"},
			wantTree: map[string]string{},
		},
		{
			name:     "windows drive letter",
			archive:  build(file("C:pwned", "x")),
			wantErr:  []string{"drive letter"},
			wantTree: map[string]string{},
		},
		{
			name:     "empty name",
			archive:  build(file("", "x")),
			wantErr:  []string{"empty"},
			wantTree: map[string]string{},
		},
		{
			name: "NUL in a PAX path",
			archive: func(t testing.TB, _ string) []byte {
				// tar.Writer refuses NUL, so write a placeholder and patch
				// the PAX record (its data is not checksummed).
				name := strings.Repeat("n", 120) + "#../../outside/pwned"
				b := archive(t, file(name, "x"))
				return bytes.Replace(b, []byte("#../"), []byte("\x00../"), 1)
			},
			wantErr:  []string{"corrupt", "invalid tar header"},
			wantTree: map[string]string{},
		},
		{
			name: "symlink",
			archive: func(t testing.TB, bait string) []byte {
				return archive(t, link(tar.TypeSymlink, "link", bait))
			},
			wantErr:  []string{`"link"`, "symbolic link"},
			wantTree: map[string]string{},
		},
		{
			name:     "symlink escape refused at the symlink",
			archive:  build(link(tar.TypeSymlink, "link", "../outside"), file("link/pwned", "x")),
			wantErr:  []string{`"link"`, "symbolic link", `"../outside"`},
			wantTree: map[string]string{},
		},
		{
			name: "chained symlinks",
			archive: build(
				dir("d/"),
				link(tar.TypeSymlink, "d/l1", "."),
				link(tar.TypeSymlink, "d/l2", "l1/.."),
				link(tar.TypeSymlink, "d/l3", "l2/../outside"),
				file("d/l3/pwned", "x"),
			),
			wantErr:  []string{`"d/l1"`, "symbolic link"},
			wantTree: map[string]string{"d": dirMark},
		},
		{
			name: "hard link",
			archive: func(t testing.TB, bait string) []byte {
				return archive(t, link(tar.TypeLink, "h", bait+"/target"))
			},
			wantErr:  []string{`"h"`, "hard link"},
			wantTree: map[string]string{},
		},
		{
			name:     "hard link then write through it",
			archive:  build(file("a", "a"), link(tar.TypeLink, "h", "../outside/target"), file("h", "x")),
			wantErr:  []string{`"h"`, "hard link"},
			wantTree: map[string]string{"a": "a"},
		},
		{
			name:     "character device",
			archive:  build(device(tar.TypeChar, "null")),
			wantErr:  []string{`"null"`, "character device"},
			wantTree: map[string]string{},
		},
		{
			name:     "block device",
			archive:  build(device(tar.TypeBlock, "sda")),
			wantErr:  []string{`"sda"`, "block device"},
			wantTree: map[string]string{},
		},
		{
			name:     "FIFO",
			archive:  build(device(tar.TypeFifo, "pipe")),
			wantErr:  []string{`"pipe"`, "FIFO"},
			wantTree: map[string]string{},
		},
		{
			name: "PAX global header",
			archive: build(ent{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
				PAXRecords: map[string]string{"comment": "x"}}}),
			wantErr:  []string{"PAX global header"},
			wantTree: map[string]string{},
		},
		{
			name:     "tar bomb over the total limit",
			archive:  build(file("a", strings.Repeat("a", 40)), file("b", strings.Repeat("b", 40)), file("c", strings.Repeat("c", 40))),
			limits:   Limits{MaxTotalBytes: 100, MaxFileBytes: 60},
			wantErr:  []string{`"c"`, "total limit of 100 bytes", "--max-bytes"},
			wantTree: map[string]string{"a": strings.Repeat("a", 40), "b": strings.Repeat("b", 40)},
		},
		{
			name:     "declared size over the per-file limit",
			archive:  build(file("small", "s"), bigDeclared),
			wantErr:  []string{`"huge.bin"`, "1099511627776 bytes", "--max-file-bytes"},
			wantTree: map[string]string{"small": "s"},
		},
		{
			name:     "too many entries",
			archive:  build(dir("d/"), file("d/1", "1"), file("d/2", "2"), file("d/3", "3")),
			limits:   Limits{MaxEntries: 3},
			wantErr:  []string{`"d/3"`, "more than 3 entries", "--max-files"},
			wantTree: map[string]string{"d": dirMark, "d/1": "1", "d/2": "2"},
		},
		{
			name:     "too deep",
			archive:  build(file("a/b/c", "ok"), file("a/b/c2/d", "x")),
			limits:   Limits{MaxDepth: 3},
			wantErr:  []string{`"a/b/c2/d"`, "4 path components", "limit of 3"},
			wantTree: map[string]string{"a": dirMark, "a/b": dirMark, "a/b/c": "ok"},
		},
		{
			name:     "truncated in the middle of file data",
			archive:  cut(func([]byte) int { return 512 + 1024 + 512 + 500 }, file("first", kilobyte), file("second", kilobyte)),
			wantErr:  []string{`"second"`, "after 500 of the file's 1000 bytes", "truncated"},
			wantTree: map[string]string{"first": kilobyte}, // the partial "second" is removed
		},
		{
			name:     "truncated in the middle of a header",
			archive:  cut(func([]byte) int { return 512 + 1024 + 100 }, file("first", kilobyte), file("second", "x")),
			wantErr:  []string{`after entry "first"`, "middle of a header", "truncated"},
			wantTree: map[string]string{"first": kilobyte},
		},
		{
			name:     "truncated in the padding",
			archive:  cut(func([]byte) int { return 512 + 1000 + 10 }, file("first", kilobyte)),
			wantErr:  []string{`after entry "first"`, "end-of-archive marker", "truncated"},
			wantTree: map[string]string{"first": kilobyte},
		},
		{
			name:     "truncated at a block boundary without end marker",
			archive:  cut(func(full []byte) int { return len(full) - 1024 }, file("first", kilobyte)),
			wantErr:  []string{`after entry "first"`, "end-of-archive marker", "truncated"},
			wantTree: map[string]string{"first": kilobyte},
		},
		{
			name:     "only one of the two end blocks",
			archive:  cut(func(full []byte) int { return len(full) - 512 }, file("first", kilobyte)),
			wantErr:  []string{"end-of-archive marker", "truncated"},
			wantTree: map[string]string{"first": kilobyte},
		},
		{
			name: "truncated after a PAX header",
			archive: cut(func([]byte) int { return 1024 + 1024 }, // "a", then the PAX header and its data
				file("a", "a"), file(strings.Repeat("p", 150), "b")),
			wantErr:  []string{`after entry "a"`, "end-of-archive marker", "truncated"},
			wantTree: map[string]string{"a": "a"},
		},
		{
			name:     "name longer than a path may be",
			archive:  build(file(strings.Repeat("n", 5000), "x")),
			wantErr:  []string{`"nnnn`, `nnn"...`, "5000 bytes long"},
			wantTree: map[string]string{},
		},
		{
			name:     "empty stream",
			archive:  func(testing.TB, string) []byte { return nil },
			wantErr:  []string{"before its first entry", "truncated"},
			wantTree: map[string]string{},
		},
		{
			name:     "garbage instead of a header",
			archive:  func(testing.TB, string) []byte { return bytes.Repeat([]byte("garbage!"), 128) },
			wantErr:  []string{"corrupt"},
			wantTree: map[string]string{},
		},
		{
			name:     "duplicate file entry",
			archive:  build(file("a", "first"), file("a", "second")),
			wantErr:  []string{`"a"`, "duplicate"},
			wantTree: map[string]string{"a": "first"},
		},
		{
			name:     "file over a directory",
			archive:  build(dir("a/"), file("a", "x")),
			wantErr:  []string{`"a"`, "duplicate"},
			wantTree: map[string]string{"a": dirMark},
		},
		{
			name:     "directory over a file",
			archive:  build(file("a", "x"), dir("a/")),
			wantErr:  []string{`"a/"`, "creating directory"},
			wantTree: map[string]string{"a": "x"},
		},
		{
			name:     "file under a file",
			archive:  build(file("a", "x"), file("a/b", "y")),
			wantErr:  []string{`"a/b"`, "parent directory"},
			wantTree: map[string]string{"a": "x"},
		},
		{
			name:     "regular file named like a directory",
			archive:  regularNamed("a/"),
			wantErr:  []string{`"a/"`, `must not end with "/"`},
			wantTree: map[string]string{},
		},
		{
			name:     "regular file named as the root",
			archive:  regularNamed("./"),
			wantErr:  []string{`"./"`},
			wantTree: map[string]string{},
		},
		{
			// Not refused: the setuid bit is dropped (see TestExtractModes);
			// here the file is followed by an escape to show it stays.
			name:     "setuid file then escape",
			archive:  build(setuid, file("../outside/pwned", "x")),
			wantErr:  []string{`".."`},
			wantTree: map[string]string{"suid": "x"},
		},
	}
}

func TestExtractRefusesHostileArchives(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			bait := filepath.Join(parent, "outside")
			if err := os.Mkdir(bait, 0o755); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(parent, "dest")
			limits := tc.limits

			files, err := Extract(bytes.NewReader(tc.archive(t, bait)), dest, limits)
			if err == nil {
				t.Fatalf("Extract() error = nil with files %v, want an error containing %q", files, tc.wantErr)
			}
			for _, want := range append(tc.wantErr, "incomplete") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Extract() error = %q, want it to contain %q", err, want)
				}
			}
			if diff := cmp.Diff(map[string]string{"outside": dirMark}, outside(t, parent, dest)); diff != "" {
				t.Errorf("Extract() wrote outside the destination (-want +got):\n%s", diff)
			}
			gotTree := tree(t, dest)
			if diff := cmp.Diff(tc.wantTree, gotTree); diff != "" {
				t.Errorf("destination contents mismatch (-want +got):\n%s", diff)
			}
			// The returned files are exactly the regular files left behind.
			var wantFiles []File
			for p, content := range gotTree {
				if content != dirMark {
					wantFiles = append(wantFiles, File{Path: p, Size: int64(len(content)), SHA256: sha(content)})
				}
			}
			slices.SortFunc(wantFiles, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
			if diff := cmp.Diff(wantFiles, files); diff != "" {
				t.Errorf("Extract() files mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtractDestination(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dest string) // creates what the test expects to find
		limits  Limits
		wantErr string
	}{
		{
			name: "non-empty destination",
			prepare: func(t *testing.T, dest string) {
				if err := os.MkdirAll(dest, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dest, "precious"), []byte("keep"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "choose an empty or new directory",
		},
		{
			name: "destination is a file",
			prepare: func(t *testing.T, dest string) {
				if err := os.WriteFile(dest, []byte("keep"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "choose an empty or new directory",
		},
		{
			name:    "negative limit",
			prepare: func(*testing.T, string) {},
			limits:  Limits{MaxFileBytes: -1},
			wantErr: "MaxFileBytes is -1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			tc.prepare(t, dest)
			before := tree(t, parent)

			_, err := Extract(bytes.NewReader(archive(t, file("new", "x"))), dest, tc.limits)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Extract() error = %v, want one containing %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(before, tree(t, parent)); diff != "" {
				t.Errorf("Extract() changed the file system although it refused the destination (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("existing empty destination", func(t *testing.T) {
		dest := t.TempDir()
		files, err := Extract(bytes.NewReader(archive(t, file("a", "a"))), dest, Limits{})
		if err != nil {
			t.Fatalf("Extract() into an existing empty directory: error = %v, want none", err)
		}
		if diff := cmp.Diff([]File{{Path: "a", Size: 1, SHA256: sha("a")}}, files); diff != "" {
			t.Errorf("Extract() files mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestExtractModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	// The umask applies to what Extract creates; learn it from a probe.
	probe := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(probe, nil, 0o777); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(probe)
	if err != nil {
		t.Fatal(err)
	}
	umasked := st.Mode().Perm()

	withMode := func(e ent, mode int64) ent {
		e.hdr.Mode = mode
		e.hdr.Uid, e.hdr.Gid, e.hdr.Uname, e.hdr.Gname = 0, 0, "root", "root"
		return e
	}
	dest := filepath.Join(t.TempDir(), "dest")
	_, err = Extract(bytes.NewReader(archive(t,
		withMode(dir("sticky/"), 0o1777),
		withMode(file("sticky/setuid", "x"), 0o4755),
		withMode(file("setgid", "x"), 0o2700),
		withMode(file("private", "x"), 0o600),
		withMode(file("world-writable", "x"), 0o666),
		withMode(file("group-exec", "x"), 0o610),
		withMode(dir("locked/"), 0o000),
		withMode(file("locked/inside", "x"), 0o000),
	)), dest, DefaultLimits())
	if err != nil {
		t.Fatalf("Extract() error = %v, want none", err)
	}

	want := map[string]fs.FileMode{
		"sticky":         fs.ModeDir | 0o755&umasked,
		"sticky/setuid":  0o755 & umasked,
		"setgid":         0o755 & umasked,
		"private":        0o644 & umasked,
		"world-writable": 0o644 & umasked,
		"group-exec":     0o755 & umasked,
		"locked":         fs.ModeDir | 0o755&umasked,
		"locked/inside":  0o644 & umasked,
	}
	got := map[string]fs.FileMode{}
	for p := range want {
		st, err := os.Lstat(filepath.Join(dest, p))
		if err != nil {
			t.Fatal(err)
		}
		got[p] = st.Mode()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("modes mismatch, setuid/setgid/sticky must be dropped (-want +got):\n%s", diff)
	}
}

func TestLimitsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Limits
		want Limits
	}{
		{name: "zero value", in: Limits{}, want: DefaultLimits()},
		{
			name: "partly set",
			in:   Limits{MaxFileBytes: 10, MaxDepth: 2},
			want: Limits{MaxTotalBytes: 4 << 30, MaxFileBytes: 10, MaxEntries: 100000, MaxDepth: 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.withDefaults()
			if err != nil {
				t.Fatalf("withDefaults() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("withDefaults() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExtractMemory checks that heap use does not grow with file size: a
// 64 MiB file must pass through the fixed copy buffer.
func TestExtractMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB")
	}
	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	files, err := Extract(generate(t, size), filepath.Join(t.TempDir(), "dest"), DefaultLimits())
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Extract() error = %v", err)
	}
	if len(files) == 0 || files[0].Size != size {
		t.Fatalf("Extract() files = %v, want a first file of %d bytes", files, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("extracting a %d MiB archive allocated %.1f MiB, want under 4 MiB: memory must not grow with file size",
			size>>20, float64(alloc)/(1<<20))
	}
}
