package upload

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// binary holds every byte value, with \r\n, a lone \r and NULs, which a text-mode copy would change.
func binary() []byte {
	b := []byte("line\r\nlone\rcarriage\x00nul\x00\x00")
	for i := range 256 {
		b = append(b, byte(i))
	}
	return b
}

// suite makes the tree a typical upload has: a script that must stay executable, nested directories, an
// empty directory, a binary file and a relative symlink inside the tree.
func suite(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "suite")
	for _, d := range []string{"lib/deep/er", "empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]struct {
		content []byte
		mode    os.FileMode
	}{
		"run.sh":            {[]byte("#!/bin/sh\necho ok\n"), 0o755},
		"lib/data.bin":      {binary(), 0o644},
		"lib/deep/er/x.txt": {[]byte("x\n"), 0o600},
	}
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, f.content, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../run.sh", filepath.Join(dir, "lib", "run")); err != nil {
		t.Fatal(err)
	}
	return dir
}

type tarEntry struct {
	Type    byte
	Mode    int64
	Link    string
	Content string
}

func readArchive(t *testing.T, r io.Reader) map[string]tarEntry {
	t.Helper()
	got := map[string]tarEntry{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatalf("reading the archive: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got[hdr.Name] = tarEntry{Type: hdr.Typeflag, Mode: hdr.Mode, Link: hdr.Linkname, Content: string(b)}
	}
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestWriteKeepsContentModesAndLinksAndEndsWithTheManifest(t *testing.T) {
	dir := suite(t)
	single := filepath.Join(t.TempDir(), "one.bin")
	if err := os.WriteFile(single, binary(), 0o640); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	got, err := Write(&buf, []Item{{Local: dir, Name: "0"}, {Local: single, Name: "1"}}, Limits{})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if diff := cmp.Diff(Summary{Files: 4, Dirs: 5, Symlinks: 1, Bytes: int64(2*len(binary()) + 18 + 2)}, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	bin := string(binary())
	want := map[string]tarEntry{
		"0/":                  {Type: tar.TypeDir, Mode: 0o777},
		"0/empty/":            {Type: tar.TypeDir, Mode: 0o777},
		"0/lib/":              {Type: tar.TypeDir, Mode: 0o777},
		"0/lib/data.bin":      {Type: tar.TypeReg, Mode: 0o644, Content: bin},
		"0/lib/deep/":         {Type: tar.TypeDir, Mode: 0o777},
		"0/lib/deep/er/":      {Type: tar.TypeDir, Mode: 0o777},
		"0/lib/deep/er/x.txt": {Type: tar.TypeReg, Mode: 0o644, Content: "x\n"},
		"0/lib/run":           {Type: tar.TypeSymlink, Mode: 0o777, Link: "../run.sh"},
		"0/run.sh":            {Type: tar.TypeReg, Mode: 0o755, Content: "#!/bin/sh\necho ok\n"},
		"1":                   {Type: tar.TypeReg, Mode: 0o644, Content: bin},
		manifestFile: {Type: tar.TypeReg, Mode: 0o644, Content: sum(binary()) + "  0/lib/data.bin\n" +
			sum([]byte("x\n")) + "  0/lib/deep/er/x.txt\n" +
			sum([]byte("#!/bin/sh\necho ok\n")) + "  0/run.sh\n" +
			sum(binary()) + "  1\n"},
	}
	if diff := cmp.Diff(want, readArchive(t, &buf)); diff != "" {
		t.Errorf("archive (-want +got):\n%s", diff)
	}
}

// Skip leaves paths of a directory out with everything under them (a location's .git, a reports directory
// being written), and a file of the same name elsewhere in.
func TestWriteSkipsWhatItIsToldTo(t *testing.T) {
	dir := t.TempDir()
	for f, data := range map[string]string{".git/HEAD": "ref\n", "out/r/junit.xml": "<x/>", "run.sh": "ok\n", "lib/.git": "gitdir: x\n"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := Write(&buf, []Item{{Local: dir, Name: "0", Skip: []string{".git", "out/r"}}}, Limits{}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	var got []string
	for name := range readArchive(t, &buf) {
		got = append(got, name)
	}
	slices.Sort(got)
	want := []string{manifestFile, "0/", "0/lib/", "0/lib/.git", "0/out/", "0/run.sh"}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}
}

func TestWriteOpensADirectoryToEveryUser(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "sub"), 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(dir, "sub"), 0o755) })
	var buf bytes.Buffer
	if _, err := Write(&buf, []Item{{Local: dir, Name: "0"}}, Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := readArchive(t, &buf)["0/sub/"].Mode; got != 0o777 {
		t.Errorf("a read-only directory (0555) has mode %o in the archive, want 0777: the helper could not fill it, nor a test of another user write in it", got)
	}
}

func TestScanRefusesWhatCannotOrMustNotBeUploaded(t *testing.T) {
	tests := []struct {
		name   string
		make   func(t *testing.T, dir string) // fills dir
		local  string                         // relative to the test's directory; "tree" when empty
		limits Limits
		want   []string
	}{
		{name: "missing path", local: "nope", want: []string{`--upload "`, `nope": no such file or directory`}},
		{name: "absolute symlink", make: func(t *testing.T, dir string) {
			symlink(t, "/etc/passwd", filepath.Join(dir, "passwd"))
		}, want: []string{`symlink "`, `passwd" points outside the uploaded directory (to "/etc/passwd")`}},
		{name: "symlink climbing out", make: func(t *testing.T, dir string) {
			mkdir(t, filepath.Join(dir, "a"))
			symlink(t, "../../secret", filepath.Join(dir, "a", "s"))
		}, want: []string{`a/s" points outside the uploaded directory (to "../../secret")`}},
		{name: "named pipe", make: func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: []string{`fifo" is a named pipe, not a regular file, directory or symlink`}},
		{name: "line break in a name", make: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a\nb"), "x")
		}, want: []string{`holds a line break`}},
		{name: "too many bytes", make: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a"), "12345")
			write(t, filepath.Join(dir, "b"), "12345")
		}, limits: Limits{MaxBytes: 9}, want: []string{"more than 9 bytes (--upload-max-bytes)", "raise --upload-max-bytes"}},
		{name: "too many files", make: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a"), "")
			write(t, filepath.Join(dir, "b"), "")
		}, limits: Limits{MaxFiles: 2}, want: []string{"more than 2 files, directories and symlinks (--upload-max-files)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			tree := filepath.Join(base, "tree")
			mkdir(t, tree)
			if tt.make != nil {
				tt.make(t, tree)
			}
			local := tree
			if tt.local != "" {
				local = filepath.Join(base, tt.local)
			}
			_, err := Scan([]Item{{Local: local, Name: "0"}}, tt.limits)
			if err == nil {
				t.Fatalf("Scan accepted the upload, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestScanFollowsANamedSymlinkAndAcceptsLinksInside(t *testing.T) {
	dir := suite(t)
	link := filepath.Join(t.TempDir(), "link")
	symlink(t, dir, link)
	got, err := Scan([]Item{{Local: link, Name: "0"}}, Limits{})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if diff := cmp.Diff(Summary{Files: 3, Dirs: 5, Symlinks: 1, Bytes: int64(len(binary()) + 18 + 2)}, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"", ".", "..", ".testrun-done", "a/b", `a\b`, "a\nb"} {
		if err := checkName(name); err == nil {
			t.Errorf("checkName(%q) accepted it", name)
		}
	}
	if err := checkName("12"); err != nil {
		t.Errorf("checkName(\"12\"): %v", err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}
