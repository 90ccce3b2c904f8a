// Command dist is the Go half of hack/dist.sh: it writes the release archives, their checksums and the krew
// manifest, so that `make dist` needs neither zip nor GNU tar and gives the same bytes on every machine.
//
//	dist archive -o OUT -mtime RFC3339 [-exec NAME=PATH]... [-file NAME=PATH]...
//	dist checksums -o OUT FILE...
//	dist krew-manifest -template .krew.yaml -tag TAG -base-url URL -dir DIR -o OUT
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubectl-testrun/kubectl-testrun/hack/release"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dist archive|checksums|krew-manifest [flags]")
		os.Exit(2)
	}
	commands := map[string]func([]string) error{
		"archive":       archive,
		"checksums":     checksums,
		"krew-manifest": krewManifest,
	}
	run, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "dist: unknown command %q: use archive, checksums or krew-manifest\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "dist %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// entries collects repeated NAME=PATH flags into archive entries.
type entries struct {
	files      *[]release.File
	executable bool
}

func (e entries) String() string { return "" }

func (e entries) Set(v string) error {
	name, source, ok := strings.Cut(v, "=")
	if !ok || name == "" || source == "" {
		return fmt.Errorf("%q is not NAME=PATH", v)
	}
	*e.files = append(*e.files, release.File{Name: name, Source: source, Executable: e.executable})
	return nil
}

func archive(args []string) error {
	fs := flag.NewFlagSet("archive", flag.ContinueOnError)
	out := fs.String("o", "", "the archive to write: NAME.tar.gz or NAME.zip")
	mtime := fs.String("mtime", "", "the modification time of every entry, RFC 3339 (the build date)")
	var files []release.File
	fs.Var(entries{files: &files, executable: true}, "exec", "an executable entry NAME=PATH (mode 0755); repeatable")
	fs.Var(entries{files: &files}, "file", "a regular entry NAME=PATH (mode 0644); repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || len(files) == 0 || fs.NArg() != 0 {
		return errors.New("needs -o and at least one -exec or -file, and no other arguments")
	}
	t, err := time.Parse(time.RFC3339, *mtime)
	if err != nil {
		return fmt.Errorf("-mtime %q: %w", *mtime, err)
	}
	return release.WriteArchive(*out, files, t)
}

func checksums(args []string) error {
	fs := flag.NewFlagSet("checksums", flag.ContinueOnError)
	out := fs.String("o", "", "the checksum file to write, in sha256sum's format")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return errors.New("needs -o and at least one file")
	}
	var b strings.Builder
	for _, f := range fs.Args() {
		sum, err := sha256File(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, filepath.Base(f))
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

func krewManifest(args []string) error {
	fs := flag.NewFlagSet("krew-manifest", flag.ContinueOnError)
	tmplPath := fs.String("template", ".krew.yaml", "the krew-release-bot template")
	tag := fs.String("tag", "", "the release tag, e.g. v1.2.3")
	baseURL := fs.String("base-url", "", "where the archives are downloaded from; the uri of each is BASE-URL/NAME")
	dir := fs.String("dir", "dist", "the directory holding the archives")
	out := fs.String("o", "", "the manifest to write: PLUGIN.yaml")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tag == "" || *baseURL == "" || *out == "" || fs.NArg() != 0 {
		return errors.New("needs -tag, -base-url and -o, and no other arguments")
	}
	tmpl, err := os.ReadFile(*tmplPath)
	if err != nil {
		return err
	}
	// The template names the archives by their public download URL; each must be a file in dir, and the
	// manifest points at BASE-URL/NAME with that file's checksum.
	asset := func(url string) (string, string, error) {
		name := release.AssetName(url)
		sum, err := sha256File(filepath.Join(*dir, name))
		if err != nil {
			return "", "", fmt.Errorf("the template names %s, which make dist did not build: %w", url, err)
		}
		return strings.TrimSuffix(*baseURL, "/") + "/" + name, sum, nil
	}
	manifest, err := release.RenderKrewManifest(tmpl, *tag, asset)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, manifest, 0o644)
}

func sha256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
