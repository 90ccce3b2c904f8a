//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
)

var (
	suitesOnce   sync.Once
	suitesErr    error
	suitesImages = map[string]string{}
)

// suiteImage returns the image of the plugin's sample suite. The first call builds and loads the images of
// every plugin with hack/cluster/suites.sh: about 2 minutes on a fresh machine (Go modules, debootstrap of
// the Debian root of the pytest and Jest images, npm ci), 80 s with warm Go caches, well under a second when
// they are loaded already.
func suiteImage(t *testing.T, plugin string) string {
	t.Helper()
	suitesOnce.Do(func() {
		start := time.Now()
		cmd := exec.Command(filepath.Join(repoRoot, "hack/cluster/suites.sh"))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			suitesErr = fmt.Errorf("hack/cluster/suites.sh: %w", err)
			return
		}
		for _, image := range strings.Fields(string(out)) {
			name := strings.TrimSuffix(strings.TrimPrefix(image, "testrun.local/suite-"), ":v1")
			suitesImages[name] = image
		}
		fmt.Fprintf(os.Stderr, "sample suite images ready in %s\n", time.Since(start).Round(time.Millisecond))
	})
	if suitesErr != nil {
		t.Fatalf("building the sample suite images: %v", suitesErr)
	}
	image, ok := suitesImages[plugin]
	if !ok {
		t.Fatalf("hack/cluster/suites.sh made no image for plugin %q, only %v", plugin, suitesImages)
	}
	return image
}

// testrunIn runs the plugin binary with args in dir, the working directory whose .testrun/ it reads, with
// extra environment variables.
func testrunIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := command(t.Context(), pluginBin, args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Env, env...)
	return run(t, cmd)
}

// 1. Every shipped plugin runs its sample suite from a locally built image: the framework's own output
// streams to stdout, its JUnit report is fetched and summarised (two passed, one failed, one skipped), and
// the command exits with the framework's code for a failure.
func TestPluginRunsItsSampleSuite(t *testing.T) {
	tests := []struct {
		plugin     string
		wantStdout string // a line the framework itself prints
		wantFailed string // the failed case as the JUnit summary names it
	}{
		{plugin: "go-test", wantStdout: "--- FAIL: TestGreeting", wantFailed: "FAIL suite/TestGreeting"},
		{plugin: "pytest", wantStdout: "1 failed, 2 passed, 1 skipped", wantFailed: "FAIL test_sample/test_greeting"},
		{plugin: "jest", wantStdout: "Tests:       1 failed, 1 skipped, 2 passed, 4 total", wantFailed: "FAIL tests/sample.test.js/greets the cluster"},
		{plugin: "ginkgo", wantStdout: "FAIL! -- 2 Passed | 1 Failed | 0 Pending | 1 Skipped", wantFailed: "greets the cluster"},
		{plugin: "shell", wantStdout: "--- FAIL: greeting (exit code 1", wantFailed: "FAIL shell/greeting: exit code 1"},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			image := suiteImage(t, tt.plugin)
			ns := namespace(t)
			out := filepath.Join(t.TempDir(), "reports")
			r := testrun(t, "run", "--plugin", tt.plugin, "--image", image, "-n", ns, "--reports", out)
			wantCode(t, r, 1)
			if !strings.Contains(r.stdout, tt.wantStdout) {
				t.Errorf("stdout lacks the framework's %q:\n%s", tt.wantStdout, r.stdout)
			}
			wantStderr(t, r, "junit: 4 tests, 1 failed, 1 skipped", tt.wantFailed, "sha256 verified")
			if _, err := os.Stat(filepath.Join(out, "junit.xml")); err != nil {
				t.Errorf("the framework's own junit.xml was not fetched: %v\nstderr:\n%s", err, r.stderr)
			}
			assertNothingLeft(t, ns)
		})
	}
}

// 2. The words after -- replace the definition's args, not its command: pytest gets a path and -k, and the
// deselected failing test leaves a passing run.
func TestPluginArgsAfterDashReplaceTheDefinitionArgs(t *testing.T) {
	image := suiteImage(t, "pytest")
	ns := namespace(t)
	out := filepath.Join(t.TempDir(), "reports")
	r := testrun(t, "run", "api", "--plugin", "pytest", "--image", image, "-n", ns, "--reports", out,
		"--", "tests/test_sample.py", "-k", "not greeting")
	wantCode(t, r, 0)
	wantStderr(t, r, "created job api-", "junit: 3 tests, 0 failed, 1 skipped")
	if !strings.Contains(r.stdout, "2 passed, 1 skipped, 1 deselected") {
		t.Errorf("pytest did not get the args after --:\n%s", r.stdout)
	}
	assertNothingLeft(t, ns)
}

// 3. kubectl testrun plugins lists the shipped plugins and the repository's own definitions.
func TestPluginsListsShippedAndLocalDefinitions(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{".testrun/api.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: api
  labels: {suite: smoke}
  annotations: {description: the API suite}
spec:
  image: ` + testee + `
`})
	r := testrunIn(t, dir, nil, "plugins")
	wantCode(t, r, 0)
	rows := map[string][]string{}
	for _, line := range lines(r.stdout)[1:] {
		fields := strings.Fields(line)
		rows[fields[0]] = fields[1:]
	}
	if got := rows["api"]; len(got) < 3 || got[0] != ".testrun/api.yaml" || got[1] != "suite=smoke" || !strings.Contains(r.stdout, "the API suite") {
		t.Errorf("kubectl testrun plugins shows api as %q, want source .testrun/api.yaml, labels suite=smoke and the description:\n%s", got, r.stdout)
	}
	for _, plugin := range []string{"go-test", "pytest", "jest", "ginkgo", "shell", "kubernetes-e2e"} {
		if got := rows[plugin]; len(got) == 0 || got[0] != "shipped" {
			t.Errorf("kubectl testrun plugins shows %s as %q, want a shipped plugin:\n%s", plugin, got, r.stdout)
		}
	}
	r = testrunIn(t, dir, nil, "plugins", "-o", "json")
	wantCode(t, r, 0)
	var list struct {
		Kind  string
		Items []struct {
			Metadata struct {
				Name        string
				Annotations map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || list.Kind != "TestDefinitionList" || len(list.Items) != 7 {
		t.Fatalf("plugins -o json = %v items of kind %q (%v), want a TestDefinitionList of 7:\n%s", len(list.Items), list.Kind, err, r.stdout)
	}
	if got := list.Items[0].Metadata.Annotations["testrun.dev/source"]; got != ".testrun/api.yaml" {
		t.Errorf("the first item's source = %q, want .testrun/api.yaml", got)
	}
}

// 4. A definition with a typo in a field name is refused before anything is created, with the file, the
// line, the field and the likely fix; exit code 125.
func TestDefinitionWithATypoIsRefused(t *testing.T) {
	ns := namespace(t)
	dir := t.TempDir()
	typo := `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: api
spec:
  command: [/testee]
  imagee: ` + testee + `
`
	testkit.WriteFiles(t, dir, map[string]string{"api.yaml": typo, ".testrun/api.yaml": typo})
	for _, tc := range []struct {
		args []string
		file string
	}{
		{[]string{"-f", "api.yaml"}, "api.yaml"},
		{[]string{"--definition", "api"}, ".testrun/api.yaml"},
	} {
		r := testrunIn(t, dir, nil, append([]string{"run", "-n", ns}, tc.args...)...)
		wantCode(t, r, 125)
		wantStderr(t, r, fmt.Sprintf(`definition file %q: line 7: unknown field "imagee" in spec: did you mean "image"?`, tc.file))
	}
	assertNothingLeft(t, ns)
}

// 5. Configuration from a literal value, a Secret and a ConfigMap, each as an environment variable and as
// a file, reaches the test; a definition's entry beats --config, which beats .testrun/config.yaml; the CI's
// commit and ref are exported. Nothing but the Job is created: no ConfigMap or Secret of the plugin's own.
func TestConfigFromValueSecretAndConfigMapReachesTheTest(t *testing.T) {
	ns := namespace(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"}, StringData: map[string]string{
		"token": "s3cret", "kubeconfig": "apiVersion: v1\nkind: Config\n",
	}}
	if _, err := client.CoreV1().Secrets(ns).Create(t.Context(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	configMap := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{
		"url": "http://api.staging", "users.csv": "name,role\nada,admin\n",
	}}
	if _, err := client.CoreV1().ConfigMaps(ns).Create(t.Context(), configMap, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		".testrun/config.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestConfig
spec:
  config:
  - {name: GLOBAL_ONLY, type: env, value: global}
  - {name: RUN_WINS, type: env, value: global}
  - {name: DEFINITION_WINS, type: env, value: global}
`,
		".testrun/config-check.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: config-check
spec:
  image: ` + busybox + `
  command:
  - sh
  - -c
  - |
    env | sort | grep -E '^(VALUE_ENV|SECRET_ENV|CONFIGMAP_ENV|GLOBAL_ONLY|RUN_WINS|RUN_ONLY|DEFINITION_WINS|TESTRUN_GIT_SHA|TESTRUN_GIT_REF|VALUE_FILE|SECRET_FILE|CONFIGMAP_FILE)='
    for f in "$VALUE_FILE" "$SECRET_FILE" "$CONFIGMAP_FILE"; do
      echo "--- $f"
      cat "$f"
    done
  config:
  - name: VALUE_ENV
    type: env
    value: a literal value
  - name: SECRET_ENV
    type: env
    valueFrom: {secretKeyRef: {name: creds, key: token}}
  - name: CONFIGMAP_ENV
    type: env
    valueFrom: {configMapKeyRef: {name: settings, key: url}}
  - name: value-file
    type: file
    path: /etc/testrun/value.txt
    value: |
      line one
      line two
  - name: secret.file
    type: file
    path: /var/run/secrets/app/kubeconfig
    valueFrom: {secretKeyRef: {name: creds, key: kubeconfig}}
  - name: configmap_file
    type: file
    path: /data/users.csv
    valueFrom: {configMapKeyRef: {name: settings, key: users.csv}}
  - {name: DEFINITION_WINS, type: env, value: definition}
`,
	})
	r := testrunIn(t, dir, []string{"GITHUB_SHA=0123456789abcdef0123456789abcdef01234567", "GITHUB_REF=refs/heads/feature"},
		"run", "--definition", "config-check", "-n", ns,
		"--config", "RUN_WINS=run", "--config", "RUN_ONLY=run", "--config", "DEFINITION_WINS=run")
	wantCode(t, r, 0)
	want := `CONFIGMAP_ENV=http://api.staging
CONFIGMAP_FILE=/data/users.csv
DEFINITION_WINS=definition
GLOBAL_ONLY=global
RUN_ONLY=run
RUN_WINS=run
SECRET_ENV=s3cret
SECRET_FILE=/var/run/secrets/app/kubeconfig
TESTRUN_GIT_REF=refs/heads/feature
TESTRUN_GIT_SHA=0123456789abcdef0123456789abcdef01234567
VALUE_ENV=a literal value
VALUE_FILE=/etc/testrun/value.txt
--- /etc/testrun/value.txt
line one
line two
--- /var/run/secrets/app/kubeconfig
apiVersion: v1
kind: Config
--- /data/users.csv
name,role
ada,admin
`
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("what the test saw (-want +got):\n%s\nstderr:\n%s", diff, r.stderr)
	}
	assertNothingLeft(t, ns)
	cms, err := client.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		if cm.Name != "settings" && cm.Name != "kube-root-ca.crt" {
			t.Errorf("the run created ConfigMap %q: configuration must need no create permission on configmaps", cm.Name)
		}
	}
	secrets, err := client.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		if s.Name != "creds" {
			t.Errorf("the run created Secret %q: configuration must need no create permission on secrets", s.Name)
		}
	}
}

// 6. A configuration file from a Secret or ConfigMap that is missing, or a ConfigMap key that is, fails at
// once with exit code 125 and names the entry and the fix, instead of leaving the pod waiting for its volume
// until --timeout.
func TestConfigFileFromAMissingSourceFailsFast(t *testing.T) {
	ns := namespace(t)
	configMap := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"url": "http://api"}}
	if _, err := client.CoreV1().ConfigMaps(ns).Create(t.Context(), configMap, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	definition := func(source string) string {
		return `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: missing
spec:
  image: ` + busybox + `
  command: [cat, /etc/app/config]
  config:
  - name: app-config
    type: file
    path: /etc/app/config
    valueFrom: {` + source + `}
`
	}
	tests := []struct {
		name, source, want string
	}{
		{"secret", "secretKeyRef: {name: nope, key: k}", `config entry "app-config": secret "nope" not found in namespace "` + ns + `": create it, or fix valueFrom.secretKeyRef.name`},
		{"configmap", "configMapKeyRef: {name: nope, key: k}", `config entry "app-config": configmap "nope" not found`},
		{"configmap key", "configMapKeyRef: {name: settings, key: users.csv}", `configmap "settings" in namespace "` + ns + `" has no key "users.csv": add it, or fix valueFrom.configMapKeyRef.key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			testkit.WriteFiles(t, dir, map[string]string{"missing.yaml": definition(tt.source)})
			r := testrunIn(t, dir, nil, "run", "-f", "missing.yaml", "-n", ns, "--timeout", "2m")
			wantCode(t, r, 125)
			wantStderr(t, r, tt.want)
			if r.took > 10*time.Second {
				t.Errorf("took %s to report a missing source, want it at once", r.took)
			}
			assertNothingLeft(t, ns)
		})
	}
}

// 7. --selector runs every matching definition at once (both test containers are seen running at the same
// time), prefixes each one's lines with its name, leaves the others alone, and exits with the failing
// one's code.
func TestSelectorRunsMatchingDefinitionsInParallel(t *testing.T) {
	ns := namespace(t)
	dir := t.TempDir()
	def := func(name, suite, exit string) string {
		return `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: ` + name + `
  labels: {suite: ` + suite + `}
spec:
  image: ` + testee + `
  env:
  - {name: TESTEE_PRINT, value: "` + name + ` started"}
  - {name: TESTEE_SLEEP, value: 8s}
  - {name: TESTEE_EXIT, value: "` + exit + `"}
`
	}
	testkit.WriteFiles(t, dir, map[string]string{
		".testrun/smoke-pass.yaml": def("smoke-pass", "smoke", "0"),
		".testrun/smoke-fail.yaml": def("smoke-fail", "smoke", "3"),
		".testrun/nightly.yaml":    def("nightly", "nightly", "9"),
	})

	// Watch the namespace while the runs go, and remember the most test containers running at once.
	ctx, stop := context.WithCancel(t.Context())
	most := make(chan int, 1)
	go func() {
		peak := 0
		defer func() { most <- peak }()
		for ctx.Err() == nil {
			pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: managedBy})
			if err == nil {
				running := 0
				for _, p := range pods.Items {
					for _, s := range p.Status.ContainerStatuses {
						if s.Name == "test" && s.State.Running != nil {
							running++
						}
					}
				}
				peak = max(peak, running)
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	r := testrunIn(t, dir, nil, "run", "--selector", "suite=smoke", "-n", ns)
	stop()
	wantCode(t, r, 3)
	if got := <-most; got != 2 {
		t.Errorf("at most %d test containers ran at once, want 2: the matching definitions must run in parallel\n%s", got, r)
	}
	for _, want := range []string{"[smoke-pass] smoke-pass started", "[smoke-fail] smoke-fail started", "[smoke-pass] slept", "[smoke-fail] slept"} {
		if !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("stdout lacks the line %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "nightly") || strings.Contains(r.stderr, "nightly") {
		t.Errorf("the definition labelled suite=nightly ran too:\n%s", r)
	}
	wantStderr(t, r, "[smoke-fail] testrun: run smoke-fail-", " failed: the test failed with exit code 3\n", "[smoke-fail]   full diagnostics (describe of the job and pod, every event): ",
		"(smoke-fail) failed with exit code 3, the first to fail", "(smoke-pass) passed")
	assertNothingLeft(t, ns)
}

// Under the documented Role the client cannot read Secrets, so it cannot check them before the run: the
// kubelet's FailedMount event for the missing Secret ends the run fast instead of --timeout.
func TestMissingSecretVolumeFailsFastUnderTheDocumentedRole(t *testing.T) {
	ns := namespace(t)
	as := bindRole(t, ns, documentedRole(t))
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"mount.yaml": `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: mount
spec:
  image: ` + busybox + `
  command: [cat, /etc/app/token]
  config:
  - name: token
    type: file
    path: /etc/app/token
    valueFrom: {secretKeyRef: {name: absent, key: token}}
`})
	r := testrunIn(t, dir, nil, "run", "-f", "mount.yaml", "-n", ns, as, "--timeout", "3m")
	wantCode(t, r, 125)
	wantStderr(t, r, "FailedMount", `secret "absent" not found`)
	if r.took > 60*time.Second {
		t.Errorf("took %s to report the missing Secret volume, want well under the 3m timeout", r.took)
	}
	assertNothingLeft(t, ns)
}

// A definition's workingDir is where the test starts, and --workdir overrides it.
func TestDefinitionWorkingDirAndTheWorkdirFlag(t *testing.T) {
	ns := namespace(t)
	file := filepath.Join(t.TempDir(), "where.yaml")
	def := `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: where
spec:
  image: docker.io/library/busybox:1.37
  command: [pwd]
  workingDir: /etc
`
	if err := os.WriteFile(file, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	r := testrun(t, "run", "-f", file, "-n", ns)
	wantCode(t, r, 0)
	if r.stdout != "/etc\n" {
		t.Errorf("the test started in %q, want the definition's /etc", r.stdout)
	}
	r = testrun(t, "run", "-f", file, "-n", ns, "--workdir", "/usr")
	wantCode(t, r, 0)
	if r.stdout != "/usr\n" {
		t.Errorf("the test started in %q, want --workdir's /usr", r.stdout)
	}
	assertNothingLeft(t, ns)
}
