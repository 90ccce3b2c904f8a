//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

// The in-cluster story: a system under test runs in the cluster as a Deployment and a Service, and a
// test suite run by kubectl testrun reaches it by its Service's DNS names and the API with its pod's own
// ServiceAccount. docs/in-cluster.md tells it; make demo shows it.

// sutImage is the system under test's image, built from hack/cluster/images/sut by hack/cluster/images.sh.
const sutImage = "testrun.local/sut:v1"

// deploySUT applies hack/demo/sut.yaml (the manifest make demo uses) in ns and waits until the Service sut
// has a ready endpoint.
func deploySUT(t *testing.T, ns string) {
	t.Helper()
	kubectl(t, "-n", ns, "apply", "-f", filepath.Join(repoRoot, "hack/demo/sut.yaml"))
	waitFor(t, 90*time.Second, "a ready endpoint of Service sut", func(ctx context.Context) (bool, error) {
		slices, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=sut"})
		if err != nil {
			return false, err
		}
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					return true, nil
				}
			}
		}
		return false, nil
	})
}

// sutLogs returns the logs of the system under test.
func sutLogs(t *testing.T, ns string) string {
	t.Helper()
	return kubectl(t, "-n", ns, "logs", "deployment/sut")
}

// runSUTSuite runs the go-test plugin's in-cluster suite (/tests/sut.test) against the Service sut of ns,
// with extra flags, and brings its reports home to the returned directory.
func runSUTSuite(t *testing.T, ns string, flags ...string) (result, string) {
	t.Helper()
	image := suiteImage(t, "go-test")
	out := filepath.Join(t.TempDir(), "reports")
	args := append([]string{"run", "--plugin", "go-test", "--image", image, "-n", ns, "--reports", out,
		"--env", "GO_TEST_BINARY=/tests/sut.test", "--env", "GO_TEST_PACKAGE=sut"}, flags...)
	return testrun(t, args...), out
}

// A shipped definition's sample suite, run with plain kubectl testrun run --plugin go-test, calls the system
// under test by its short Service name and by its fully qualified DNS name, passes, and its JUnit report
// comes home; the service's own log shows the requests came from the test.
func TestInClusterTheSuiteCallsTheSystemUnderTestByItsServiceName(t *testing.T) {
	ns := namespace(t)
	deploySUT(t, ns)

	r, out := runSUTSuite(t, ns)
	wantCode(t, r, 0)
	for _, want := range []string{
		"--- PASS: TestGreetingByShortName",
		"GET http://sut/greeting -> 200 hello from sut v1 in " + ns,
		"--- PASS: TestGreetingByFullyQualifiedName",
		"GET http://sut." + ns + ".svc.cluster.local/greeting -> 200 hello from sut v1 in " + ns,
		"--- PASS: TestSum",
		"--- PASS: TestBadInputIsRefused",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the suite's output lacks %q:\n%s", want, r)
		}
	}
	wantStderr(t, r, "junit: 4 tests, 0 failed in", "sha256 verified")
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil {
		t.Fatalf("the suite's junit.xml did not come home: %v\nstderr:\n%s", err, r.stderr)
	}
	if !strings.Contains(string(junit), `name="TestGreetingByFullyQualifiedName"`) {
		t.Errorf("junit.xml does not name the suite's tests:\n%s", junit)
	}
	if logs := sutLogs(t, ns); !strings.Contains(logs, "sut: GET /sum?a=2&b=3 from ") || !strings.Contains(logs, "-> 200 5") {
		t.Errorf("the system under test did not log the suite's sum request:\n%s", logs)
	}
	assertNothingLeft(t, ns)
}

// A failing variant (the suite expects a wrong sum) exits with the suite's own code, names the failed
// test, and --dump-selector app=sut puts the service's describe and logs, with the request that got the
// unexpected answer, in the diagnostics file that comes home with the reports.
func TestInClusterAFailingSuiteDumpsTheSystemUnderTest(t *testing.T) {
	ns := namespace(t)
	deploySUT(t, ns)

	r, out := runSUTSuite(t, ns, "--env", "SUT_WANT_SUM=6", "--dump-selector", "app=sut")
	wantCode(t, r, 1)
	if !strings.Contains(r.stdout, `2 + 3 = 200 "5", want 200 "6"`) {
		t.Errorf("the suite's output lacks the failed assertion:\n%s", r)
	}
	wantStderr(t, r, "junit: 4 tests, 1 failed in", "FAIL sut/TestSum")
	diag, err := os.ReadFile(filepath.Join(out, "testrun-diagnostics.txt"))
	if err != nil {
		t.Fatalf("no diagnostics file came home: %v\n%s", err, r)
	}
	for _, want := range []string{"(--dump-selector)", "Image:", sutImage, "container sut", "sut: GET /sum?a=2&b=3 from ", "-> 200 5"} {
		if !strings.Contains(string(diag), want) {
			t.Errorf("the diagnostics file lacks %q of the system under test:\n%s", want, diag)
		}
	}
	assertNothingLeft(t, ns)
}

// pluginImage packs the plugin binary this run built (a static one) into an image of its own, named after
// its checksum, and removes the image when the test ends.
func pluginImage(t *testing.T) string {
	t.Helper()
	bin, err := os.ReadFile(pluginBin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	name := "testrun.local/kubectl-testrun:e2e-" + hex.EncodeToString(sum[:6])
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kubectl-testrun"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	load := exec.CommandContext(t.Context(), filepath.Join(repoRoot, "hack/cluster/load-image"), dir, name, "-entrypoint", "/kubectl-testrun", "-env", "HOME=/tmp")
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("packing the plugin into %s: %v\n%s", name, err, out)
	}
	socket := filepath.Join(clusterSettings(t, "TESTRUN_CLUSTER_DIR")["TESTRUN_CLUSTER_DIR"], "containerd/containerd.sock")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ctr", "--address", socket, "-n", "k8s.io", "images", "rm", name).CombinedOutput(); err != nil {
			t.Errorf("removing the image %s: %v\n%s", name, err, out)
		}
	})
	return name
}

// A test inside the pod talks to the API with its pod's ServiceAccount through the in-cluster configuration
// (the image holds no kubeconfig): the plugin's own binary lists the runs of its namespace from inside a
// run, and finds that run itself with its pod. Under the namespace's default account the same listing is forbidden, so
// the identity is the pod's; with a Role the test binds to its own account, it succeeds.
func TestInClusterATestReadsTheAPIWithItsServiceAccount(t *testing.T) {
	ns := namespace(t)
	image := pluginImage(t)

	r := testrun(t, "run", "lister", "-n", ns, "--image", image, "--", "/kubectl-testrun", "list")
	if r.code == 0 || !strings.Contains(r.stdout, `"system:serviceaccount:`+ns+`:default" cannot list`) {
		t.Errorf("listing under the default ServiceAccount: want it forbidden for that account, got %s", r)
	}

	kubectl(t, "-n", ns, "create", "serviceaccount", "lister")
	kubectl(t, "-n", ns, "create", "role", "read-runs", "--verb", "get,list,watch", "--resource", "jobs.batch,pods")
	kubectl(t, "-n", ns, "create", "rolebinding", "lister-reads-runs", "--role", "read-runs", "--serviceaccount", ns+":lister")
	r = testrun(t, "run", "lister", "-n", ns, "--image", image, "--service-account", "lister", "--", "/kubectl-testrun", "list", "-o", "wide")
	wantCode(t, r, 0)
	// The run's own row: the Job the plugin said it created, with its pod (the Job controller may not
	// have counted the pod as active yet, so its status is not asserted).
	var run string
	for _, l := range lines(r.stderr) {
		if rest, ok := strings.CutPrefix(l, "testrun: created job "); ok {
			run = strings.Fields(rest)[0]
		}
	}
	// Columns are found by the header, so a new column does not break the test; every cell has a value.
	found := false
	if rows := lines(r.stdout); len(rows) > 0 {
		header := strings.Fields(rows[0])
		pod, img := slices.Index(header, "POD"), slices.Index(header, "IMAGE")
		for _, l := range rows[1:] {
			if f := strings.Fields(l); pod > 0 && img > 0 && len(f) == len(header) && f[0] == run && strings.HasPrefix(f[pod], run+"-") && f[img] == image {
				found = true
			}
		}
	}
	if run == "" || !found {
		t.Errorf("the listing from inside run %q does not show that run with its pod and image: %s", run, r)
	}
	assertNothingLeft(t, ns)
}

// make demo (hack/demo/demo.sh, run here with the plugin this run built first on PATH) tells the same story
// on its own: the system under test up, the suite passing against it, the JUnit report home, and its
// namespace gone afterwards.
func TestInClusterTheDemoShowsTheStory(t *testing.T) {
	ns := "e2e-demo-" + strings.ToLower(utilrand.String(6))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
		defer cancel()
		_ = client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	})
	reports := filepath.Join(t.TempDir(), "reports")
	cmd := command(t.Context(), filepath.Join(repoRoot, "hack/demo/demo.sh"))
	cmd.Env = append(cmd.Env, "DEMO_NAMESPACE="+ns, "DEMO_REPORTS="+reports)
	r := run(t, cmd)
	wantCode(t, r, 0)
	for _, want := range []string{`deployment "sut" successfully rolled out`, "--- PASS: TestGreetingByShortName", "--- PASS: TestSum"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the demo's output lacks %q: %s", want, r)
		}
	}
	wantStderr(t, r, "junit: 4 tests, 0 failed in", "sha256 verified")
	if _, err := os.Stat(filepath.Join(reports, "junit.xml")); err != nil {
		t.Errorf("the demo's junit.xml did not come home: %v", err)
	}
	waitFor(t, 60*time.Second, "the demo's namespace "+ns+" to be deleted", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}
