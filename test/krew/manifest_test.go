// Package krew_test proves that .krew.yaml, the krew-release-bot template of the plugin's krew manifest,
// renders into a manifest krew accepts: it decodes into krew's own types (sigs.k8s.io/krew/pkg/index),
// passes the rules krew applies (kept here because krew's validation package is internal) and passes krew's
// validate-krew-manifest from the pinned tool module; and that breaking a rule makes both fail.
package krew_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/krew/pkg/constants"
	"sigs.k8s.io/krew/pkg/index"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/hack/release"
)

const (
	pluginName = "testrun"
	tag        = "v1.2.3"
	downloads  = "https://github.com/kubectl-testrun/kubectl-testrun/releases/download/"
)

// platforms are the os/arch pairs the plugin is released for, each with its own archive.
var platforms = []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"}

// fakeAsset stands in for krew-release-bot's download of each archive: the uri is the url itself and the
// sha256 that of the url, so every platform has a distinct, well-formed checksum.
func fakeAsset(url string) (string, string, error) {
	sum := sha256.Sum256([]byte(url))
	return url, hex.EncodeToString(sum[:]), nil
}

func TestTemplateRendersAValidManifest(t *testing.T) {
	manifest := render(t, readTemplate(t), tag, fakeAsset)
	p, err := decode(manifest)
	if err != nil {
		t.Fatalf("the rendered manifest does not decode into krew's index.Plugin: %v\n%s", err, manifest)
	}
	if err := validate(pluginName+constants.ManifestExtension, p); err != nil {
		t.Errorf("the rendered manifest breaks a krew rule: %v\n%s", err, manifest)
	}
	// krew's own validator agrees.
	if out, err := validateKrewManifest(t, pluginName+constants.ManifestExtension, manifest); err != nil {
		t.Errorf("validate-krew-manifest rejects the rendered manifest: %v\n%s", err, out)
	}
	if p.Spec.Version != tag {
		t.Errorf("spec.version = %q, want the tag %q", p.Spec.Version, tag)
	}
	var got []string
	for _, pl := range p.Spec.Platforms {
		if pl.Selector == nil {
			continue // validate has said so
		}
		osName, arch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		got = append(got, osName+"/"+arch)
		ext, exe := "tar.gz", "kubectl-testrun"
		if osName == "windows" {
			ext, exe = "zip", "kubectl-testrun.exe"
		}
		// The archive names are the contract with make dist (hack/dist.sh) and the release page.
		wantURI := fmt.Sprintf("%s%s/kubectl-testrun_%s_%s_%s.%s", downloads, tag, tag, osName, arch, ext)
		if pl.URI != wantURI {
			t.Errorf("platform %s/%s: uri = %q, want %q", osName, arch, pl.URI, wantURI)
		}
		if pl.Bin != exe {
			t.Errorf("platform %s/%s: bin = %q, want %q", osName, arch, pl.Bin, exe)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, platforms) {
		t.Errorf("the manifest offers platforms %q, want exactly %q", got, platforms)
	}
}

func TestBrokenManifestsAreRejected(t *testing.T) {
	upper := func(url string) (string, string, error) {
		uri, sum, err := fakeAsset(url)
		return uri, strings.ToUpper(sum), err
	}
	short := func(url string) (string, string, error) {
		uri, sum, err := fakeAsset(url)
		return uri, sum[:40], err
	}
	tests := []struct {
		name     string
		file     string                   // the manifest's file name, which names the plugin
		edit     func(tmpl string) string // a mistake made in .krew.yaml
		tag      string                   // the release tag; empty means tag
		asset    release.Asset            // the checksums; nil means fakeAsset
		wantRule string                   // what this test's rules say
		wantTool string                   // what validate-krew-manifest says; empty when it cannot see it
	}{{
		name:     "plugin renamed in the manifest",
		edit:     replace("name: testrun", "name: test-run"),
		wantRule: `plugin should be named "testrun"`,
		wantTool: `plugin should be named "testrun"`,
	}, {
		name:     "manifest file named after another plugin",
		file:     "kubectl-testrun.yaml",
		wantRule: `plugin should be named "kubectl-testrun"`,
		wantTool: `plugin should be named "kubectl-testrun"`,
	}, {
		name:     "upper-case sha256",
		asset:    upper,
		wantRule: "`sha256` value",
		wantTool: "`sha256` value",
	}, {
		name:     "truncated sha256",
		asset:    short,
		wantRule: "`sha256` value",
		wantTool: "`sha256` value",
	}, {
		name:     "version without a leading v",
		tag:      "1.2.3",
		wantRule: "not starting with 'v'",
		wantTool: "not starting with 'v'",
	}, {
		name:     "version that is not semver",
		tag:      "v1.2",
		wantRule: "version",
		wantTool: "version",
	}, {
		name:     "selector that overlaps another platform",
		edit:     replace("        os: linux\n        arch: amd64\n", "        os: linux\n"),
		wantRule: "overlapping selectors",
		wantTool: "overlapping selectors",
	}, {
		name:     "selector that matches no platform krew supports",
		edit:     replace("arch: arm64", "arch: riscv64"),
		wantRule: "doesn't match any supported platform",
		wantTool: "doesn't match any supported platform",
	}, {
		name: "LICENSE not extracted",
		edit: replace("    - from: LICENSE\n      to: .\n", ""),
		// validate-krew-manifest finds a missing LICENSE only by installing the plugin, which needs the
		// published archives: make dist checks it with a real krew install of its local archives.
		wantRule: "LICENSE",
	}, {
		name:     "bin not extracted",
		edit:     replace("    - from: kubectl-testrun\n      to: .\n", ""),
		wantRule: `bin "kubectl-testrun" is not among the extracted files`,
	}, {
		name:     "multi-line short description",
		edit:     replace("shortDescription: Run", "shortDescription: |\n    Run"),
		wantRule: "line breaks in short description",
		wantTool: "line breaks in short description",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, tmpl, version, asset := pluginName+constants.ManifestExtension, readTemplate(t), tag, release.Asset(fakeAsset)
			if tt.file != "" {
				file = tt.file
			}
			if tt.edit != nil {
				edited := tt.edit(tmpl)
				if edited == tmpl {
					t.Fatalf("the edit changed nothing: .krew.yaml no longer has the text this case breaks")
				}
				tmpl = edited
			}
			if tt.tag != "" {
				version = tt.tag
			}
			if tt.asset != nil {
				asset = tt.asset
			}
			manifest := render(t, tmpl, version, asset)

			p, err := decode(manifest)
			if err == nil {
				err = validate(file, p)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantRule) {
				t.Errorf("krew rules: got error %v, want one containing %q\n%s", err, tt.wantRule, manifest)
			}

			out, err := validateKrewManifest(t, file, manifest)
			switch {
			case tt.wantTool == "" && err != nil:
				t.Errorf("validate-krew-manifest rejects a mistake it is not expected to see (update the case): %v\n%s", err, out)
			case tt.wantTool != "" && err == nil:
				t.Errorf("validate-krew-manifest accepts the manifest, want it to fail with %q\n%s", tt.wantTool, manifest)
			case tt.wantTool != "" && !strings.Contains(out, tt.wantTool):
				t.Errorf("validate-krew-manifest fails with\n%s\nwant a message containing %q", out, tt.wantTool)
			}
		})
	}
}

func TestRenderingNeedsEveryArchive(t *testing.T) {
	// make dist renders the manifest from the archives it built: one the template names but that is
	// missing must stop the release, not produce a manifest with a hole.
	missing := errors.New("no such archive")
	_, err := release.RenderKrewManifest([]byte(readTemplate(t)), tag, func(url string) (string, string, error) {
		if strings.HasSuffix(url, "_darwin_arm64.tar.gz") {
			return "", "", missing
		}
		return fakeAsset(url)
	})
	if !errors.Is(err, missing) {
		t.Fatalf("rendering with a missing archive: got error %v, want %v", err, missing)
	}
}

func replace(old, replacement string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, replacement, 1) }
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func readTemplate(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), ".krew.yaml"))
	if err != nil {
		t.Fatalf("reading the krew manifest template: %v", err)
	}
	return string(b)
}

func render(t *testing.T, tmpl, tag string, asset release.Asset) []byte {
	t.Helper()
	manifest, err := release.RenderKrewManifest([]byte(tmpl), tag, asset)
	if err != nil {
		t.Fatalf("rendering .krew.yaml for %s: %v", tag, err)
	}
	return manifest
}

// decode reads a manifest into krew's types, refusing unknown fields (krew itself ignores them, so a
// misspelt field would silently do nothing).
func decode(manifest []byte) (index.Plugin, error) {
	var p index.Plugin
	err := yaml.UnmarshalStrict(manifest, &p)
	return p, err
}

// validateKrewManifest runs krew's validate-krew-manifest from hack/tools/go.mod on the manifest, saved
// under file (krew takes the plugin's name from the file name). -skip-install, because installing downloads
// the uris.
func validateKrewManifest(t *testing.T, file string, manifest []byte) (string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), file)
	if err := os.WriteFile(p, manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "-modfile=hack/tools/go.mod", "validate-krew-manifest", "-manifest", p, "-skip-install")
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running validate-krew-manifest from hack/tools/go.mod: %v\n%s", err, out)
	}
	return string(out), err
}

// The rules below are krew v0.5.0's (internal/index/validation.ValidatePlugin and
// cmd/validate-krew-manifest), which cannot be imported, plus two that krew checks only by installing:
// the archive's LICENSE and the bin are among the extracted files.
var (
	safePluginName = regexp.MustCompile(`^[\w-]+$`)
	validSHA256    = regexp.MustCompile(`^[a-f0-9]{64}$`)
	// windowsReserved names cannot be files on Windows.
	windowsReserved = []string{"CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6",
		"COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"}
	// licenseFiles are the names validate-krew-manifest accepts as the license after an install.
	licenseFiles = []string{"license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md",
		"copying", "copying.txt"}
	// krewPlatforms are the os/arch pairs validate-krew-manifest knows.
	krewPlatforms = []labels.Set{
		{"os": "windows", "arch": "386"}, {"os": "windows", "arch": "amd64"}, {"os": "windows", "arch": "arm64"},
		{"os": "linux", "arch": "386"}, {"os": "linux", "arch": "amd64"}, {"os": "linux", "arch": "arm"},
		{"os": "linux", "arch": "arm64"}, {"os": "linux", "arch": "ppc64le"},
		{"os": "darwin", "arch": "386"}, {"os": "darwin", "arch": "amd64"}, {"os": "darwin", "arch": "arm64"},
	}
)

// validate applies krew's rules to the manifest p read from the file named file.
func validate(file string, p index.Plugin) error {
	name := strings.TrimSuffix(file, constants.ManifestExtension)
	switch {
	case path.Ext(file) != constants.ManifestExtension:
		return fmt.Errorf("expected manifest extension %q but found %q", constants.ManifestExtension, path.Ext(file))
	case p.APIVersion != constants.CurrentAPIVersion:
		return fmt.Errorf("apiVersion=%q, want %q", p.APIVersion, constants.CurrentAPIVersion)
	case p.Kind != constants.PluginKind:
		return fmt.Errorf("kind=%q, want %q", p.Kind, constants.PluginKind)
	case !safePluginName.MatchString(name) || slices.ContainsFunc(windowsReserved, func(r string) bool { return strings.EqualFold(r, name) }):
		return fmt.Errorf("the plugin name %q is not allowed", name)
	case p.Name != name:
		return fmt.Errorf("plugin should be named %q, not %q", name, p.Name)
	case p.Spec.ShortDescription == "":
		return errors.New("should have a short description")
	case strings.ContainsAny(p.Spec.ShortDescription, "\r\n"):
		return errors.New("should not have line breaks in short description")
	case len(p.Spec.Platforms) == 0:
		return errors.New("should have a platform specified")
	case !strings.HasPrefix(p.Spec.Version, "v"):
		return fmt.Errorf("version string %q not starting with 'v'", p.Spec.Version)
	}
	if _, err := utilversion.ParseSemantic(p.Spec.Version); err != nil {
		return fmt.Errorf("failed to parse plugin version: %w", err)
	}
	for i, pl := range p.Spec.Platforms {
		if err := validatePlatform(pl); err != nil {
			return fmt.Errorf("spec.platforms[%d]: %w", i, err)
		}
	}
	for _, env := range krewPlatforms {
		var matched []int
		for i, pl := range p.Spec.Platforms {
			if selects(pl.Selector, env) {
				matched = append(matched, i)
			}
		}
		if len(matched) > 1 {
			return fmt.Errorf("overlapping selectors found: spec.platforms %v all select %v", matched, env)
		}
	}
	return nil
}

func validatePlatform(pl index.Platform) error {
	switch {
	case pl.URI == "":
		return errors.New("`uri` has to be set")
	case !validSHA256.MatchString(pl.Sha256):
		return fmt.Errorf("`sha256` value %q is not valid, must match %s", pl.Sha256, validSHA256)
	case pl.Bin == "":
		return errors.New("`bin` has to be set")
	case pl.Files != nil && len(pl.Files) == 0:
		return errors.New("`files` has to be unspecified or non-empty")
	}
	for _, op := range pl.Files {
		if op.From == "" || op.To == "" {
			return fmt.Errorf("file operation %+v needs both `from` and `to`", op)
		}
	}
	sel := pl.Selector
	switch {
	case sel == nil:
		return errors.New("nil selector is not supported")
	case sel.MatchLabels == nil && len(sel.MatchExpressions) == 0:
		return errors.New("empty selector is not supported")
	case sel.MatchLabels != nil && len(sel.MatchLabels) == 0:
		return errors.New("`matchLabels` specified but empty")
	case sel.MatchExpressions != nil && len(sel.MatchExpressions) == 0:
		return errors.New("`matchExpressions` specified but empty")
	}
	for k := range sel.MatchLabels {
		if k != "os" && k != "arch" {
			return fmt.Errorf("selector key %q not supported", k)
		}
	}
	for _, e := range sel.MatchExpressions {
		if e.Key != "os" && e.Key != "arch" {
			return fmt.Errorf("selector key %q not supported", e.Key)
		}
	}
	if !slices.ContainsFunc(krewPlatforms, func(env labels.Set) bool { return selects(sel, env) }) {
		return fmt.Errorf("selector %v doesn't match any supported platform", sel)
	}
	// Without files, krew extracts the whole archive; with files, only what they name.
	if pl.Files != nil {
		extracted := func(name string) bool {
			return slices.ContainsFunc(pl.Files, func(op index.FileOperation) bool {
				return strings.EqualFold(path.Base(op.From), name)
			})
		}
		if !slices.ContainsFunc(licenseFiles, extracted) {
			return fmt.Errorf("no LICENSE (or alike: %s) among the extracted files %+v", strings.Join(licenseFiles, ", "), pl.Files)
		}
		if !extracted(path.Base(pl.Bin)) {
			return fmt.Errorf("bin %q is not among the extracted files %+v", pl.Bin, pl.Files)
		}
	}
	return nil
}

func selects(sel *metav1.LabelSelector, env labels.Set) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(env)
}
