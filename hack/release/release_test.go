package release_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/hack/release"
)

func TestRenderKrewManifest(t *testing.T) {
	// The bot's template language: .TagName at the top, and addURIAndSha renders its url as a template too.
	tmpl := "version: {{ .TagName }}\n" +
		"  - bin: x\n" +
		`    {{addURIAndSha "https://example.test/{{ .TagName }}/x_{{ .Version }}.tar.gz" .TagName }}` + "\n"
	var asked []string
	got, err := release.RenderKrewManifest([]byte(tmpl), "v1.2.3", func(url string) (string, string, error) {
		asked = append(asked, url)
		return "https://mirror.test/x.tar.gz", "abc", nil
	})
	if err != nil {
		t.Fatalf("RenderKrewManifest: %v", err)
	}
	want := "version: v1.2.3\n" +
		"  - bin: x\n" +
		"    uri: https://mirror.test/x.tar.gz\n" +
		"    sha256: abc\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("RenderKrewManifest (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"https://example.test/v1.2.3/x_1.2.3.tar.gz"}, asked); diff != "" {
		t.Errorf("urls asked for (-want +got):\n%s", diff)
	}
}

func TestWriteArchiveIsReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "bin", "#!/bin/sh\necho hi\n")
	license := writeFile(t, dir, "LICENSE", "Apache-2.0\n")
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	files := []release.File{
		{Name: "kubectl-testrun", Source: bin, Executable: true},
		{Name: "LICENSE", Source: license},
	}
	reversed := []release.File{files[1], files[0]}
	want := []entry{
		{Name: "LICENSE", Mode: 0o644, ModTime: mtime, Content: "Apache-2.0\n"},
		{Name: "kubectl-testrun", Mode: 0o755, ModTime: mtime, Content: "#!/bin/sh\necho hi\n"},
	}
	for _, ext := range []string{".tar.gz", ".zip"} {
		t.Run(ext, func(t *testing.T) {
			a, b := filepath.Join(dir, "a"+ext), filepath.Join(dir, "b"+ext)
			if err := release.WriteArchive(a, files, mtime); err != nil {
				t.Fatal(err)
			}
			// Another order, and the sources touched since: neither may change a byte.
			now := time.Now()
			for _, f := range files {
				if err := os.Chtimes(f.Source, now, now); err != nil {
					t.Fatal(err)
				}
			}
			if err := release.WriteArchive(b, reversed, mtime); err != nil {
				t.Fatal(err)
			}
			ab, bb := readFile(t, a), readFile(t, b)
			if !bytes.Equal(ab, bb) {
				t.Errorf("two archives of the same files differ (%d and %d bytes)", len(ab), len(bb))
			}
			if diff := cmp.Diff(want, list(t, a)); diff != "" {
				t.Errorf("entries of %s (-want +got):\n%s", a, diff)
			}
		})
	}
}

func TestWriteArchiveRejects(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "f", "x")
	tests := []struct {
		name  string
		dst   string
		files []release.File
	}{
		{name: "unknown format", dst: "out.tar", files: []release.File{{Name: "f", Source: src}}},
		{name: "duplicate entry", dst: "out.zip", files: []release.File{{Name: "f", Source: src}, {Name: "f", Source: src}}},
		{name: "missing source", dst: "out.tar.gz", files: []release.File{{Name: "f", Source: filepath.Join(dir, "nope")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := release.WriteArchive(filepath.Join(dir, tt.dst), tt.files, time.Unix(0, 0)); err == nil {
				t.Errorf("WriteArchive(%s) succeeded, want an error", tt.dst)
			}
		})
	}
}

type entry struct {
	Name    string
	Mode    os.FileMode
	ModTime time.Time
	Content string
}

func list(t *testing.T, name string) []entry {
	t.Helper()
	var got []entry
	if filepath.Ext(name) == ".zip" {
		zr, err := zip.OpenReader(name)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			content, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, entry{Name: f.Name, Mode: f.Mode(), ModTime: f.Modified.UTC(), Content: string(content)})
		}
		return got
	}
	gz, err := gzip.NewReader(bytes.NewReader(readFile(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: entry %s is owned by %d:%d (%q:%q), want 0:0 with no names", name, hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{Name: hdr.Name, Mode: hdr.FileInfo().Mode(), ModTime: hdr.ModTime.UTC(), Content: string(content)})
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
