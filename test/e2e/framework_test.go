//go:build e2e

// Package e2e drives the built kubectl-testrun binary against the real local cluster that
// hack/cluster/cluster.sh brings up. Every test reads like the user story it proves.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// The environment every test shares, set up once by TestMain.
var (
	repoRoot   string
	kubeconfig string // the admin kubeconfig of the local cluster
	kubectlBin string // the harness' kubectl, at the cluster's version
	pluginBin  string // the plugin binary built for this run
	pluginDir  string // the directory holding pluginBin, put first on PATH for kubectl's plugin mechanism
	tmpDir     string // the commands' $TMPDIR, where failed runs save their diagnostics without --reports
	k8sVersion string // the pinned Kubernetes version
	client     kubernetes.Interface
)

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e setup: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(pluginDir)
	_ = os.RemoveAll(tmpDir)
	os.Exit(code)
}

func setup() error {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))

	// Bring the cluster up (a no-op when it already runs) and take the kubeconfig from its last line.
	up := exec.Command(filepath.Join(repoRoot, "hack/cluster/cluster.sh"), "up")
	up.Stderr = os.Stderr
	out, err := up.Output()
	if err != nil {
		return fmt.Errorf("hack/cluster/cluster.sh up: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	kubeconfig, _ = strings.CutPrefix(last, "KUBECONFIG=")
	if kubeconfig == last {
		return fmt.Errorf("cluster.sh up did not end with KUBECONFIG=...: %q", last)
	}

	build := exec.Command(filepath.Join(repoRoot, "hack/cluster/build.sh"))
	build.Stderr = os.Stderr
	out, err = build.Output()
	if err != nil {
		return fmt.Errorf("hack/cluster/build.sh: %w", err)
	}
	bin := strings.TrimSpace(string(out))
	kubectlBin = filepath.Join(bin[strings.LastIndex(bin, "\n")+1:], "kubectl")
	k8sVersion = filepath.Base(filepath.Dir(filepath.Dir(kubectlBin)))

	pluginDir, err = os.MkdirTemp("", "testrun-e2e-bin-")
	if err != nil {
		return err
	}
	if tmpDir, err = os.MkdirTemp("", "testrun-e2e-tmp-"); err != nil {
		return err
	}
	pluginBin = filepath.Join(pluginDir, "kubectl-testrun")
	// Built the way make build builds it (the compile flags of the local cluster's builds, hack/cluster/lib.sh,
	// so the packages they share are compiled once), so that what the tests measure is what users run.
	gobuild := exec.Command("go", "build", "-trimpath", "-gcflags=all=-dwarf=false -c=1", "-ldflags", "-s -w", "-o", pluginBin, "./cmd/kubectl-testrun")
	gobuild.Dir = repoRoot
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0")
	gobuild.Stdout, gobuild.Stderr = os.Stderr, os.Stderr
	if err := gobuild.Run(); err != nil {
		return fmt.Errorf("building the plugin: %w", err)
	}
	// Beside it, as a release archive lays it out, the script through which kubectl completes the plugin.
	script, err := os.ReadFile(filepath.Join(repoRoot, "kubectl_complete-testrun"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(pluginDir, "kubectl_complete-testrun"), script, 0o755); err != nil {
		return err
	}

	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err = kubernetes.NewForConfig(config)
	return err
}

// result is what one run of a command produced.
type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit code %d after %s\n--- stdout:\n%s\n--- stderr:\n%s", r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// command returns cmd set up with the cluster's kubeconfig, the plugin first on PATH and a temporary
// directory of the tests' own.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+kubeconfig,
		"PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"NO_COLOR=1",
		"TMPDIR="+tmpDir,
	)
	return cmd
}

// run runs a command to its end and returns what it printed and its exit code.
func run(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", cmd, err)
	}
	return r
}

// testrun runs the built plugin binary with args. Its stderr must never hold client-go's internal error
// reports (klog's "UnhandledError"): they are noise to a user, and a sign of a watch not shut down cleanly.
func testrun(t *testing.T, args ...string) result {
	t.Helper()
	r := run(t, command(t.Context(), pluginBin, args...))
	if strings.Contains(r.stderr, `logger="UnhandledError"`) {
		t.Errorf("kubectl testrun %s printed client-go's internal errors:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r
}

// kubectl runs the harness' kubectl with args and fails the test if it fails.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, command(t.Context(), kubectlBin, args...))
	if r.code != 0 {
		t.Fatalf("kubectl %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// namespace creates a namespace for one test and deletes it when the test ends.
func namespace(t *testing.T) string {
	t.Helper()
	name := "e2e-" + strings.ToLower(utilrand.String(6))
	_, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %q: %v", name, err)
	}
	// The namespace controller needs the default service account before pods can be created.
	waitFor(t, 30*time.Second, fmt.Sprintf("service account default in %q", name), func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
		defer cancel()
		_ = client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	})
	return name
}

// waitFor polls cond until it is true or timeout passes; the test fails naming what it waited for.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var lastErr error
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waited %s for %s; last error: %v", timeout, what, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// lines splits s into its lines, without the final empty one.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1024*1024), 1024*1024)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// documentedRole returns docs/rbac.yaml, the minimal Role the docs give users.
func documentedRole(t *testing.T) string {
	t.Helper()
	role, err := os.ReadFile(filepath.Join(repoRoot, "docs/rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(role)
}

// bindRole applies role (a Role named kubectl-testrun) in ns, binds it to a new service account and returns
// the --as flag that acts as that account.
func bindRole(t *testing.T, ns, role string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "role.yaml")
	if err := os.WriteFile(path, []byte(role), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "-n", ns, "apply", "-f", path)
	kubectl(t, "-n", ns, "create", "serviceaccount", "ci")
	kubectl(t, "-n", ns, "create", "rolebinding", "ci-testrun", "--role", "kubectl-testrun", "--serviceaccount", ns+":ci")
	return "--as=system:serviceaccount:" + ns + ":ci"
}

// labelNode gives the node the label KEY=yes, so pods selecting it can be scheduled, until the test ends.
func labelNode(t *testing.T, key string) {
	t.Helper()
	node := strings.TrimSpace(kubectl(t, "get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"))
	kubectl(t, "label", "node", node, key+"=yes")
	t.Cleanup(func() {
		patch := []byte(`{"metadata":{"labels":{"` + key + `":null}}}`)
		if _, err := client.CoreV1().Nodes().Patch(context.Background(), node, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Errorf("removing the node label %s: %v", key, err)
		}
	})
}
