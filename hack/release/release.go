// Package release holds what `make dist` shares with the tests: rendering the krew manifest template
// (.krew.yaml) the way krew-release-bot does, and writing release archives that are byte-for-byte the same
// for the same files.
package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"
)

// Asset returns the uri and the sha256 (64 lowercase hex digits) of the release asset that url names.
type Asset func(url string) (uri, sha256 string, err error)

// RenderKrewManifest renders a krew-release-bot template for the release tag. Like the bot, it offers the
// template .TagName and the function addURIAndSha URL TAG, which renders URL as a template itself (with
// .TagName and .Version, the tag without its leading v) and yields the two lines "uri: ..." and
// "sha256: ...", the second indented by four spaces to sit under a platform's list item.
func RenderKrewManifest(tmpl []byte, tag string, asset Asset) ([]byte, error) {
	values := struct{ TagName, Version string }{TagName: tag, Version: versionOf(tag)}
	funcs := template.FuncMap{
		"addURIAndSha": func(url, tag string) (string, error) {
			u, err := template.New("url").Option("missingkey=error").Parse(url)
			if err != nil {
				return "", fmt.Errorf("addURIAndSha: url %q: %w", url, err)
			}
			var b strings.Builder
			if err := u.Execute(&b, struct{ TagName, Version string }{TagName: tag, Version: versionOf(tag)}); err != nil {
				return "", fmt.Errorf("addURIAndSha: url %q: %w", url, err)
			}
			uri, sum, err := asset(b.String())
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri, sum), nil
		},
	}
	t, err := template.New(".krew.yaml").Option("missingkey=error").Funcs(funcs).Parse(string(tmpl))
	if err != nil {
		return nil, fmt.Errorf("parsing the krew manifest template: %w", err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, values); err != nil {
		return nil, fmt.Errorf("rendering the krew manifest template for %q: %w", tag, err)
	}
	return out.Bytes(), nil
}

var semverCore = regexp.MustCompile(`\d+(\.\d+)+`)

// versionOf returns the version inside a tag (v1.2.3 -> 1.2.3), as krew-release-bot's .Version does.
func versionOf(tag string) string {
	if v := semverCore.FindString(tag); v != "" {
		return v
	}
	return tag
}

// AssetName returns the last path element of a download url: the name of the file in dist/.
func AssetName(url string) string { return path.Base(url) }

// File is one entry of a release archive.
type File struct {
	// Name is the entry's name in the archive.
	Name string
	// Source is the file on disk that holds its content.
	Source string
	// Executable marks a program (mode 0755); any other entry is 0644.
	Executable bool
}

// WriteArchive writes files into a .tar.gz or .zip archive at dst, chosen by its suffix. Entries are sorted
// by name, owned by root, dated mtime and carry only the mode File says, so that the same files always
// give the same bytes (with the same Go release: compression output may change between releases).
func WriteArchive(dst string, files []File, mtime time.Time) (err error) {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(files); i++ {
		if files[i].Name == files[i-1].Name {
			return fmt.Errorf("archive %q: entry %q given twice", dst, files[i].Name)
		}
	}
	var write func(io.Writer, []File, time.Time) error
	switch {
	case strings.HasSuffix(dst, ".tar.gz"):
		write = writeTarGz
	case strings.HasSuffix(dst, ".zip"):
		write = writeZip
	default:
		return fmt.Errorf("archive %q: name must end in .tar.gz or .zip", dst)
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if err := write(f, files, mtime.UTC().Truncate(time.Second)); err != nil {
		return fmt.Errorf("archive %q: %w", dst, err)
	}
	return nil
}

func mode(f File) int64 {
	if f.Executable {
		return 0o755
	}
	return 0o644
}

func writeTarGz(w io.Writer, files []File, mtime time.Time) error {
	// A zero gzip header (no name, no time) keeps the build's path and clock out of the bytes.
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, f := range files {
		content, err := os.ReadFile(f.Source)
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.Name,
			Size:     int64(len(content)),
			Mode:     mode(f),
			ModTime:  mtime,
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(content); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, files []File, mtime time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	for _, f := range files {
		content, err := os.ReadFile(f.Source)
		if err != nil {
			return err
		}
		hdr := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: mtime}
		hdr.SetMode(os.FileMode(mode(f)))
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := fw.Write(content); err != nil {
			return err
		}
	}
	return zw.Close()
}
