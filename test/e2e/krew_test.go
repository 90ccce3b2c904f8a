//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-testrun/kubectl-testrun/hack/release"
)

// The plugin installs with krew itself, offline, from a release archive and the rendered manifest, and then
// works through kubectl's plugin mechanism: version, and a real run on the cluster.
func TestKrewInstallsThePluginOffline(t *testing.T) {
	const version = "v0.0.0-e2e"
	// The linux/amd64 release archive, made as make dist makes it (hack/release), and the manifest rendered
	// from .krew.yaml with its real sha256. The other platforms' archives are not built here (make dist and
	// test/krew cover them); krew only checks the archive of the platform it installs.
	dist := t.TempDir()
	bin := filepath.Join(dist, "kubectl-testrun")
	build := exec.Command("go", "build", "-trimpath", "-o", bin,
		"-ldflags", "-s -w -X github.com/kubectl-testrun/kubectl-testrun/pkg/version.Version="+version, "./cmd/kubectl-testrun")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the release binary: %v\n%s", err, out)
	}
	archive := filepath.Join(dist, "kubectl-testrun_"+version+"_linux_amd64.tar.gz")
	err := release.WriteArchive(archive, []release.File{
		{Name: "kubectl-testrun", Source: bin, Executable: true},
		{Name: "kubectl_complete-testrun", Source: filepath.Join(repoRoot, "kubectl_complete-testrun"), Executable: true},
		{Name: "LICENSE", Source: filepath.Join(repoRoot, "LICENSE")},
	}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(sum)
	tmpl, err := os.ReadFile(filepath.Join(repoRoot, ".krew.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifestYAML, err := release.RenderKrewManifest(tmpl, version, func(url string) (string, string, error) {
		if release.AssetName(url) == filepath.Base(archive) {
			return url, hex.EncodeToString(digest[:]), nil
		}
		return url, strings.Repeat("a", 64), nil // never checked: krew installs linux/amd64 here
	})
	if err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dist, "testrun.yaml")
	if err := os.WriteFile(manifest, manifestYAML, 0o644); err != nil {
		t.Fatal(err)
	}

	krewRoot := t.TempDir()
	install := exec.Command("go", "tool", "-modfile=hack/tools/go.mod", "krew", "install",
		"--manifest="+manifest, "--archive="+archive)
	install.Dir = repoRoot
	install.Env = append(os.Environ(), "KREW_ROOT="+krewRoot, "KREW_NO_UPGRADE_CHECK=1")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("krew install: %v\n%s", err, out)
	}

	// Only krew's bin directory provides the plugin now: not the test build.
	env := []string{"KUBECONFIG=" + kubeconfig, "NO_COLOR=1", "HOME=" + t.TempDir(),
		"PATH=" + filepath.Join(krewRoot, "bin") + string(os.PathListSeparator) + os.Getenv("PATH")}
	kubectlVia := func(args ...string) result {
		cmd := exec.CommandContext(t.Context(), kubectlBin, args...)
		cmd.Env = env
		return run(t, cmd)
	}
	r := kubectlVia("plugin", "list")
	if !strings.Contains(r.stdout, filepath.Join(krewRoot, "bin", "kubectl-testrun")) {
		t.Fatalf("kubectl plugin list does not show krew's plugin:\n%s", r)
	}
	r = kubectlVia("testrun", "version", "-o", "json")
	var v struct{ Version string }
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Version != version {
		t.Fatalf("kubectl testrun version = %q (%v), want %s\n%s", v.Version, err, version, r)
	}
	ns := namespace(t)
	r = kubectlVia("testrun", "run", "krew", "-n", ns, "--image", testee, "--env", "TESTEE_PRINT=installed by krew")
	wantCode(t, r, 0)
	if r.stdout != "installed by krew\n" {
		t.Errorf("kubectl testrun run through krew printed %q", r.stdout)
	}
	assertNothingLeft(t, ns)
}
