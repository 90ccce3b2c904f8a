//go:build e2e && conformance

package e2e

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conformanceFocus is a small API-only part of the conformance suite: the API discovery specs.
const conformanceFocus = `\[sig-api-machinery\] Discovery .*\[Conformance\]`

// Kubernetes' conformance suite, client-only: e2e.test built for the cluster's version runs in a plain
// kubectl testrun run of the shipped kubernetes-e2e definition, with its pod's ServiceAccount through the
// in-cluster configuration (no kubeconfig mounted, no host network), and its JUnit report comes home with
// every focused spec passed. Opt-in (make conformance): building e2e.test takes minutes.
func TestConformanceAPIDiscoveryThroughThePlugin(t *testing.T) {
	start := time.Now()
	build := exec.CommandContext(t.Context(), filepath.Join(repoRoot, "hack/conformance/image.sh"))
	build.Stderr = os.Stderr
	out, err := build.Output()
	if err != nil {
		t.Fatalf("hack/conformance/image.sh: %v", err)
	}
	image := lines(string(out))[len(lines(string(out)))-1]
	t.Logf("image %s ready in %s", image, time.Since(start).Round(time.Second))

	ns := namespace(t)
	kubectl(t, "-n", ns, "create", "serviceaccount", "conformance")
	binding := "testrun-" + ns + "-conformance"
	kubectl(t, "create", "clusterrolebinding", binding, "--clusterrole", "cluster-admin", "--serviceaccount", ns+":conformance")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
		defer cancel()
		if err := client.RbacV1().ClusterRoleBindings().Delete(ctx, binding, metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting the ClusterRoleBinding %s: %v", binding, err)
		}
	})

	reports := filepath.Join(t.TempDir(), "reports")
	run := time.Now()
	r := testrun(t, "run", "--plugin", "kubernetes-e2e", "--image", image, "-n", ns, "--service-account", "conformance",
		"--reports", reports, "--timeout", "20m", "--env", "E2E_FOCUS="+conformanceFocus)
	t.Logf("the conformance run took %s", time.Since(run).Round(time.Second))
	wantCode(t, r, 0)
	wantStderr(t, r, "sha256 verified", " 0 failed")

	junit, err := os.ReadFile(filepath.Join(reports, "junit_01.xml"))
	if err != nil {
		t.Fatalf("e2e.test's junit_01.xml did not come home: %v\n%s", err, r.stderr)
	}
	// e2e.test writes <testsuites><testsuite><testcase>...
	var suite struct {
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Skipped *struct{} `xml:"skipped"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testsuite>testcase"`
	}
	if err := xml.Unmarshal(junit, &suite); err != nil {
		t.Fatalf("junit_01.xml: %v", err)
	}
	var ran []string
	for _, c := range suite.Cases {
		if c.Skipped == nil && strings.Contains(c.Name, "[Conformance]") {
			ran = append(ran, c.Name)
			if c.Failure != nil {
				t.Errorf("spec %q failed", c.Name)
			}
		}
	}
	t.Logf("specs run: %q", ran)
	if len(ran) < 2 {
		t.Errorf("the focus %s ran %d conformance specs, want the API discovery ones (at least 2): %q", conformanceFocus, len(ran), ran)
	}
}
