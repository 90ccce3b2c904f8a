//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// reportFiles is what the distroless test image writes in the report tests: JUnit, a 50 MiB binary file,
// nested directories and a CRLF text file.
const reportFiles = `junit.xml=junit:5,1,2;big.bin=random:50Mi;nested/deep/notes.txt=text:first\r\nsecond\r\n;nested/empty-ish.log=text:`

// expectedReports writes, with the same testee program run locally, the files the pod writes, so the test
// compares against bytes made independently of the cluster and of the plugin.
func expectedReports(t *testing.T, files string) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "testee")
	build := exec.Command("go", "build", "-o", bin, "./hack/cluster/images/testee")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building testee: %v\n%s", err, out)
	}
	want := filepath.Join(dir, "want")
	gen := exec.Command(bin)
	gen.Env = append(os.Environ(), "TESTRUN_REPORT_DIR="+want, "TESTEE_FILES="+files)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("running testee locally: %v\n%s", err, out)
	}
	return want
}

// digests maps every regular file under dir to its sha256.
func digests(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			t.Errorf("%s is not a regular file (%s)", p, d.Type())
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		m[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// 1. A distroless test writes JUnit, a 50 MiB binary, nested directories and a CRLF file: all arrive
// byte-identical, the JUnit summary is printed, and the exit code is the test's.
func TestReportsComeHomeByteForByte(t *testing.T) {
	ns := namespace(t)
	out := filepath.Join(t.TempDir(), "out")
	r := testrun(t, "run", "reports", "-n", ns, "--image", testee, "--reports", out, "-o", "json",
		"--env", "TESTEE_FILES="+reportFiles, "--env", "TESTEE_EXIT=1")
	wantCode(t, r, 1)
	got := digests(t, out)
	// The run failed, so its diagnostics were saved beside the reports: they are the plugin's, not the test's.
	if _, ok := got[diagnosticsFile]; !ok {
		t.Errorf("%s missing from %s after a failed run; files: %v", diagnosticsFile, out, got)
	}
	delete(got, diagnosticsFile)
	if diff := cmp.Diff(digests(t, expectedReports(t, reportFiles)), got); diff != "" {
		t.Errorf("fetched reports differ from what the test wrote (-want +got):\n%s", diff)
	}
	wantStderr(t, r, "junit: 8 tests, 1 failed, 2 skipped", "FAIL", "test_failed_1", "sha256 verified")
	var doc struct {
		Reports struct {
			Files       []struct{ Path, SHA256 string }
			JUnit       struct{ Tests, Failures, Skipped int }
			Diagnostics string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("result document: %v\n%s", err, r.stdout)
	}
	if len(doc.Reports.Files) != 4 || doc.Reports.JUnit.Tests != 8 || doc.Reports.JUnit.Failures != 1 || doc.Reports.Diagnostics != diagnosticsFile {
		t.Errorf("result reports = %+v, want 4 files, the JUnit totals and the diagnostics file", doc.Reports)
	}
	assertNothingLeft(t, ns)
}

// 7. A test that crashes before writing JUnit leaves a synthesized failing junit.xml with the reason, and
// the diagnostics printed on stderr are saved beside it (docs/design.md, "Failure diagnostics"), also when
// the test could not start.
func TestReportsSynthesizedJUnitAndDiagnosticsOfAFailedRun(t *testing.T) {
	ns := namespace(t)
	out := filepath.Join(t.TempDir(), "out")
	r := testrun(t, "run", "crash", "-n", ns, "--image", testee, "--reports", out,
		"--env", "TESTEE_PRINT=panic: something broke", "--env", "TESTEE_EXIT=2")
	wantCode(t, r, 2)
	b, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil {
		t.Fatalf("no synthesized junit.xml: %v\nstderr:\n%s", err, r.stderr)
	}
	for _, want := range []string{"<failure", "exit code 2", "panic: something broke", `failures="1"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("synthesized junit.xml lacks %q:\n%s", want, b)
		}
	}
	wantDiagnostics(t, out, r, "run crash-", "(exit code 2)", "--- describe job crash-", "--- describe pod crash-", "Exit Code:    2", "Events:", "panic: something broke")
	// A test that could not even start gets both too.
	out2 := filepath.Join(t.TempDir(), "out")
	r = testrun(t, "run", "noimage", "-n", ns, "--image", "testrun.local/missing:v1", "--reports", out2)
	wantCode(t, r, 125)
	if b, err := os.ReadFile(filepath.Join(out2, "junit.xml")); err != nil || !bytes.Contains(b, []byte("ErrImagePull")) {
		t.Errorf("synthesized junit.xml for a pull error: %v\n%s", err, b)
	}
	wantDiagnostics(t, out2, r, "ErrImagePull (exit code 125)", "testrun.local/missing:v1", "--- describe pod noimage-", "Events:")
}

// diagnosticsFile is where a failed run's diagnostics are saved in its --reports directory.
const diagnosticsFile = "testrun-diagnostics.txt"

// wantDiagnostics checks the diagnostics saved in dir hold every string of want, and that stderr says where.
func wantDiagnostics(t *testing.T, dir string, r result, want ...string) {
	t.Helper()
	path := filepath.Join(dir, diagnosticsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("no saved diagnostics: %v\nstderr:\n%s", err, r.stderr)
		return
	}
	for _, w := range want {
		if !bytes.Contains(b, []byte(w)) {
			t.Errorf("%s lacks %q:\n%s", path, w, b)
		}
	}
	wantStderr(t, r, "full diagnostics (describe of the job and pod, every event): "+path)
}

// 4. In a namespace that enforces PodSecurity "restricted", run + fetch works.
func TestReportsUnderPodSecurityRestricted(t *testing.T) {
	ns := namespace(t)
	kubectl(t, "label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
	out := filepath.Join(t.TempDir(), "out")
	r := testrun(t, "run", "restricted", "-n", ns, "--image", testeeNonroot, "--restricted", "--reports", out,
		"--env", "TESTEE_FILES=junit.xml=junit:3,0,0")
	wantCode(t, r, 0)
	if _, err := os.Stat(filepath.Join(out, "junit.xml")); err != nil {
		t.Errorf("junit.xml not fetched: %v\nstderr:\n%s", err, r.stderr)
	}
	wantStderr(t, r, "junit: 3 tests, 0 failed")
	if strings.Contains(r.stderr, "through the holder") {
		t.Errorf("the ephemeral container was refused under restricted:\n%s", r.stderr)
	}
}

// 5. Without the pods/ephemeralcontainers permission, the reports come through the holder, and the plugin
// says so.
func TestReportsFallBackToTheHolderWithoutEphemeralContainers(t *testing.T) {
	ns := namespace(t)
	role := documentedRole(t)
	limited := strings.Replace(role, `resources: ["pods/ephemeralcontainers"]`, `resources: ["pods/nothing"]`, 1)
	if limited == role {
		t.Fatal("docs/rbac.yaml no longer grants pods/ephemeralcontainers: update this test")
	}
	as := bindRole(t, ns, limited)
	out := filepath.Join(t.TempDir(), "out")
	r := testrun(t, "run", "fallback", "-n", ns, as, "--image", testee, "--reports", out, "-v=4",
		"--env", "TESTEE_FILES="+reportFiles, "--env", "TESTEE_SLEEP=3s")
	wantCode(t, r, 0)
	// The holder waits for the test's end as the fetch container would (ReportCopier.AwaitEnd).
	wantStderr(t, r, "ephemeral containers are not allowed", "through the holder container", "early end: the test's processes are gone")
	if diff := cmp.Diff(digests(t, expectedReports(t, reportFiles)), digests(t, out)); diff != "" {
		t.Errorf("reports fetched through the holder differ (-want +got):\n%s", diff)
	}
}

// 6. fetch copies a path out of a running pod the plugin did not create, on a volume and outside any
// volume; from a finished pod it explains why not and exits non-zero.
func TestFetchFromAForeignPod(t *testing.T) {
	ns := namespace(t)
	startForeignPod(t, ns, `mkdir -p /work/results/sub /opt/out && printf 'a\r\nb' > /work/results/sub/r.txt && echo inside > /opt/out/own.txt`)

	out := filepath.Join(t.TempDir(), "volume")
	r := testrun(t, "fetch", "pod/app", "-n", ns, "--path", "/work/results", "--to", out)
	wantCode(t, r, 0)
	if b, err := os.ReadFile(filepath.Join(out, "sub/r.txt")); err != nil || string(b) != "a\r\nb" {
		t.Errorf("fetched sub/r.txt = %q, %v; want \"a\\r\\nb\"\nstderr:\n%s", b, err, r.stderr)
	}

	own := filepath.Join(t.TempDir(), "own")
	r = testrun(t, "fetch", "pod/app", "-n", ns, "--path", "/opt/out", "--to", own)
	wantCode(t, r, 0)
	if b, err := os.ReadFile(filepath.Join(own, "own.txt")); err != nil || string(b) != "inside\n" {
		t.Errorf("fetched own.txt (container filesystem) = %q, %v\nstderr:\n%s", b, err, r.stderr)
	}

	// A finished pod: explained, non-zero, nothing written.
	kubectl(t, "-n", ns, "run", "done", "--image", busybox, "--restart", "Never", "--command", "--", "true")
	waitFor(t, 60*time.Second, "pod done to finish", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, "done", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodSucceeded, err
	})
	none := filepath.Join(t.TempDir(), "none")
	r = testrun(t, "fetch", "pod/done", "-n", ns, "--path", "/tmp", "--to", none)
	if r.code == 0 {
		t.Fatalf("fetch from a finished pod succeeded: %s", r)
	}
	wantStderr(t, r, "has finished", "nothing can be read", "kubectl testrun run")
	if _, err := os.Stat(none); !os.IsNotExist(err) {
		t.Errorf("fetch from a finished pod created %s (%v)", none, err)
	}
}

// startForeignPod starts the pod "app" the plugin did not create: busybox running script, with an emptyDir
// at /work, then sleeping; it returns once script has run.
func startForeignPod(t *testing.T, ns, script string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Volumes:       []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			Containers: []corev1.Container{{
				Name: "app", Image: busybox,
				Command:      []string{"sh", "-c", script + " && touch /work/.ready && exec sleep 3600"},
				VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}},
			}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "pod app to run its script", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, "app", metav1.GetOptions{})
		if err != nil || p.Status.Phase != corev1.PodRunning {
			return false, err
		}
		return run(t, command(ctx, kubectlBin, "-n", ns, "exec", "app", "--", "test", "-e", "/work/.ready")).code == 0, nil
	})
}

// 3 (e2e part). A fetch container that serves a crafted archive — its "tar" is a script printing an archive
// that escapes with ../ — is refused, and nothing is written outside the destination.
func TestFetchRefusesAHostileArchive(t *testing.T) {
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	for _, h := range []*tar.Header{
		{Name: "./ok.txt", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg},
		{Name: "../escaped.txt", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte("bad")); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	image := "testrun.local/evil-helper:v1"
	loadImage(t, image, map[string][]byte{"evil.tar": evil.Bytes(), "bin/tar": []byte("#!/bin/sh\ncat /evil.tar\n")})

	ns := namespace(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	r := testrun(t, "run", "hostile", "-n", ns, "--image", testee, "--helper-image", image, "--reports", out,
		"--env", "TESTEE_FILES=ok.txt=text:bad")
	wantStderr(t, r, `"../escaped.txt"`)
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "out" {
			t.Errorf("the hostile archive wrote %q next to the destination", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(parent, "escaped.txt")); !os.IsNotExist(err) {
		t.Errorf("escaped.txt exists outside the destination (%v)", err)
	}
}

// helperApplets are the busybox applets a helper image needs.
var helperApplets = []string{"sh", "cat", "date", "sleep", "find", "sha256sum", "tar", "touch"}

// loadImage builds an image from busybox plus files (later ones replace busybox's) and loads it into the
// cluster's containerd with the harness' load-image.
func loadImage(t *testing.T, name string, files map[string][]byte) {
	t.Helper()
	loadBusyboxImage(t, name, helperApplets, files)
}

// loadBusyboxImage builds an image of busybox with only the given applets, plus files, and loads it.
func loadBusyboxImage(t *testing.T, name string, applets []string, files map[string][]byte) {
	t.Helper()
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	busyboxBin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), busyboxBin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range applets {
		if err := os.Symlink("busybox", filepath.Join(bin, applet)); err != nil {
			t.Fatal(err)
		}
	}
	for p, b := range files {
		full := filepath.Join(root, p)
		_ = os.Remove(full)
		if err := os.WriteFile(full, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	load := exec.Command(filepath.Join(repoRoot, "hack/cluster/load-image"), root, name)
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("load-image %s: %v\n%s", name, err, out)
	}
}

// Several report paths: each --report-dir comes home under its own path, nested directories kept, and a run
// fetched later (kept) lays them out the same way.
func TestReportsFromSeveralDirectories(t *testing.T) {
	ns := namespace(t)
	files := "junit.xml=junit:2,0,0;/coverage/lcov.info=text:TN:\n;/coverage/html/index.html=text:<html>"
	for _, how := range []string{"run", "fetch"} {
		out := filepath.Join(t.TempDir(), "out")
		args := []string{"run", "multi", "-n", ns, "--image", testee, "--report-dir", "/reports", "--report-dir", "/coverage", "--env", "TESTEE_FILES=" + files}
		if how == "run" {
			args = append(args, "--reports", out)
		} else {
			args = append(args, "--detach")
		}
		r := testrun(t, args...)
		wantCode(t, r, 0)
		if how == "fetch" {
			name := lastLine(r.stdout)
			wantCode(t, testrun(t, "wait", name, "-n", ns), 0)
			wantCode(t, testrun(t, "fetch", name, "-n", ns, "--to", out), 0)
		}
		got := digests(t, out)
		want := []string{"reports/junit.xml", "coverage/lcov.info", "coverage/html/index.html"}
		if len(got) != len(want) {
			t.Errorf("%s: files = %v, want %v", how, got, want)
		}
		for _, w := range want {
			if _, ok := got[w]; !ok {
				t.Errorf("%s: %s missing; got %v", how, w, got)
			}
		}
	}
}

// Reports readable only by the user who wrote them: a test running as root cannot hand them to the non-root
// fetch container, and the plugin names the file and the fix; a test given a non-root user (here in an applied
// manifest) shares that user with the fetch container, so such files come home.
func TestReportsReadableOnlyByTheTestsUser(t *testing.T) {
	ns := namespace(t)
	script := `echo open > /reports/open.txt; echo private > /reports/private.txt; chmod 600 /reports/private.txt`
	out := filepath.Join(t.TempDir(), "out")
	r := testrun(t, "run", "root", "-n", ns, "--image", busybox, "--reports", out, "--", "sh", "-c", script)
	// The test passed, but a report did not come home: CI must not see 0.
	wantCode(t, r, 125)
	wantStderr(t, r, "can't open './private.txt': Permission denied", "have the test write its reports readable by all", "runAsUser")
	assertNothingLeft(t, ns)

	r = testrun(t, "run", "user", "-n", ns, "--image", busybox, "--dry-run=client", "-o", "json", "--", "sh", "-c", script)
	wantCode(t, r, 0)
	var job map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &job); err != nil {
		t.Fatalf("rendered Job: %v\n%s", err, r.stdout)
	}
	podSpec := job["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	test := podSpec["containers"].([]any)[0].(map[string]any)
	if test["name"] != "test" {
		t.Fatalf("first container is %v, want the test container", test["name"])
	}
	test["securityContext"] = map[string]any{"runAsUser": 1000, "runAsGroup": 1000}
	rendered, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", writeTemp(t, string(rendered)))
	run := lastLine(testrun(t, "list", "-n", ns, "-o", "name").stdout)
	wantCode(t, testrun(t, "wait", run, "-n", ns, "--timeout", "1m"), 0)
	out = filepath.Join(t.TempDir(), "out")
	r = testrun(t, "fetch", run, "-n", ns, "--to", out)
	wantCode(t, r, 0)
	for name, want := range map[string]string{"open.txt": "open\n", "private.txt": "private\n"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q (%v), want %q\nstderr:\n%s", name, b, err, want, r.stderr)
		}
	}
	// The holder runs as 65534 and could not read private.txt: fetch added a fetch container as user 1000.
	pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "testrun.dev/name=" + strings.TrimPrefix(run, "run/")})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of run %s: %v (%v)", run, pods, err)
	}
	ec := pods.Items[0].Spec.EphemeralContainers
	if len(ec) != 1 || ec[0].SecurityContext == nil || ec[0].SecurityContext.RunAsUser == nil || *ec[0].SecurityContext.RunAsUser != 1000 {
		t.Errorf("ephemeral containers after fetch = %+v, want one fetch container running as user 1000", ec)
	}
}

// The early end (docs/performance.md): once the test's processes are gone, the reports are copied and the
// holder released before the kubelet's status says the test ended; the exit code still comes from that status,
// the output keeps its order, and the reports are byte for byte what the test wrote.
func TestReportsCopiedWhenTheTestsProcessesAreGone(t *testing.T) {
	ns := namespace(t)
	files := `junit.xml=junit:4,1,0;notes.txt=text:a\r\nb`
	out := filepath.Join(t.TempDir(), "out")
	// The test runs long enough for the fetch container to start and wait for its end.
	r := testrun(t, "run", "early", "-n", ns, "--image", testee, "--reports", out, "-v=4",
		"--env", "TESTEE_FILES="+files, "--env", "TESTEE_SLEEP=4s", "--env", "TESTEE_EXIT=3")
	wantCode(t, r, 3)
	wantStderr(t, r, "early end: the test's processes are gone", "junit: 5 tests, 1 failed")
	if strings.Contains(r.stderr, "no early end") {
		t.Errorf("the wait for the test's end failed on the cluster:\n%s", r.stderr)
	}
	exited, copied := strings.Index(r.stderr, "test exited with code 3"), strings.Index(r.stderr, "copied 2 report file(s)")
	if exited < 0 || copied < exited {
		t.Errorf("want the test's exit, then the copy, in that order on stderr:\n%s", r.stderr)
	}
	got := digests(t, out)
	delete(got, diagnosticsFile)
	if diff := cmp.Diff(digests(t, expectedReports(t, files)), got); diff != "" {
		t.Errorf("fetched reports differ from what the test wrote (-want +got):\n%s", diff)
	}
	assertNothingLeft(t, ns)
}
