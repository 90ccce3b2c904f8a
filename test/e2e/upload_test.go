//go:build e2e

package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// uploadBinary is content a text-mode copy would change: CRLF, a lone CR, NULs, every byte value and a
// pseudo-random megabyte.
func uploadBinary() []byte {
	b := []byte("crlf\r\nlone cr\rnul\x00\x00end\n")
	for i := range 256 {
		b = append(b, byte(i))
	}
	r := rand.New(rand.NewPCG(15, 3))
	for range 1 << 20 {
		b = append(b, byte(r.Uint32()))
	}
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeFile(t *testing.T, p string, content []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// A suite kept in the repository, not in an image: run.sh calls a helper script that must still be
// executable, checks the binary fixture against the digest the client computed, finds its empty and nested
// directories, and writes a JUnit report, which comes home.
func TestRunUploadRunsASuiteFromTheStockBusyboxImage(t *testing.T) {
	ns := namespace(t)
	suite := filepath.Join(t.TempDir(), "suite")
	blob := uploadBinary()
	writeFile(t, filepath.Join(suite, "run.sh"), []byte(`#!/bin/sh
set -e
cd /work
./lib/check.sh
echo "$BLOB_SHA256  fixtures/deep/er/blob.bin" | sha256sum -c
[ -d empty ] && echo "empty directory: present"
echo '<testsuite name="uploaded" tests="2"><testcase name="blob"/><testcase name="empty"/></testsuite>' > "$TESTRUN_REPORT_DIR/junit.xml"
`), 0o644)
	writeFile(t, filepath.Join(suite, "lib", "check.sh"), []byte("#!/bin/sh\necho check.sh ran as an executable\n"), 0o755)
	writeFile(t, filepath.Join(suite, "fixtures", "deep", "er", "blob.bin"), blob, 0o644)
	if err := os.Mkdir(filepath.Join(suite, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")

	r := testrun(t, "run", "uploaded", "-n", ns, "--image", busybox, "--upload", suite+":/work", "--reports", out,
		"--env", "BLOB_SHA256="+sha256Hex(blob), "--", "sh", "/work/run.sh")
	wantCode(t, r, 0)
	for _, want := range []string{"check.sh ran as an executable\n", "fixtures/deep/er/blob.bin: OK\n", "empty directory: present\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the suite did not print %q: %s", want, r)
		}
	}
	wantStderr(t, r, "testrun: uploaded 3 file(s), ", "junit: 2 tests, 0 failed")
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil || !strings.Contains(string(junit), `<testsuite name="uploaded" tests="2">`) {
		t.Errorf("the suite's junit.xml did not come home: %q, %v", junit, err)
	}
	assertNothingLeft(t, ns)
}

// buildStatic builds the Go program in test/e2e/testdata/NAME as a static linux binary at out.
func buildStatic(t *testing.T, name, out string) {
	t.Helper()
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./test/e2e/testdata/"+name)
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, b)
	}
}

// The test image has no shell, no tar and no sha256sum, and runs as a non-root user: the helper image
// unpacks the upload, so a program uploaded beside its data runs there (its executable bit kept) and reads
// the data byte for byte. A single file goes to its default place, /testrun/upload/<name>. The namespace
// enforces PodSecurity restricted, and the run has only the documented Role: the upload needs no more.
func TestRunUploadIntoAShellLessNonRootImage(t *testing.T) {
	ns := namespace(t)
	kubectl(t, "label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
	as := bindRole(t, ns, documentedRole(t))
	tools := filepath.Join(t.TempDir(), "tools")
	buildStatic(t, "sha256sum", filepath.Join(tools, "sha256sum"))
	blob := uploadBinary()
	data := filepath.Join(t.TempDir(), "blob.bin")
	writeFile(t, data, blob, 0o640)

	r := testrun(t, "run", "distroless-upload", "-n", ns, as, "--image", testeeNonroot, "--restricted", "--upload", tools+":/opt/tools", "--upload", data,
		"--", "/opt/tools/sha256sum", "/testrun/upload/blob.bin", "/opt/tools")
	wantCode(t, r, 0)
	// Owned by the helper's user, 0640 here: it arrives readable by every user (0644), so the test's own
	// user, 65532, reads it; a directory is open to every user, as the emptyDir volume is.
	if want := sha256Hex(blob) + "  644  /testrun/upload/blob.bin\n-  777  /opt/tools\n"; r.stdout != want {
		t.Errorf("the shell-less test printed %q, want %q (the digest computed here)", r.stdout, want)
	}
	assertNothingLeft(t, ns)
}

// A missing local directory is refused before anything is created, naming the flag: exit 125. The
// client-side dry run shows the init container that would receive an upload.
func TestRunUploadOfAMissingDirectoryCreatesNothing(t *testing.T) {
	ns := namespace(t)
	missing := filepath.Join(t.TempDir(), "no-such-suite")
	r := testrun(t, "run", "missing", "-n", ns, "--image", busybox, "--upload", missing+":/work", "--", "sh", "/work/run.sh")
	wantCode(t, r, 125)
	wantStderr(t, r, `--upload "`+missing+`": no such file or directory: give an existing local file or directory`)
	jobs, err := client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 0 {
		t.Errorf("a run with a missing --upload created %d job(s), want none", len(jobs.Items))
	}

	r = testrun(t, "run", "shown", "-n", ns, "--image", busybox, "--upload", t.TempDir()+":/work", "--dry-run=client", "-o", "yaml")
	wantCode(t, r, 0)
	for _, want := range []string{"initContainers:", "name: testrun-upload", "mountPath: /work", "name: testrun-upload\n          subPath: \"0\""} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the dry run does not show %q:\n%s", want, r.stdout)
		}
	}
}

// SIGINT while the files are on their way: the same cleanup as any run, exit 130 within 10 s and nothing
// left. The upload is large enough (a 1 GiB sparse file, the default --upload-max-bytes) to be under way
// when the signal comes.
func TestRunUploadInterruptedCleansUp(t *testing.T) {
	ns := namespace(t)
	dir := filepath.Join(t.TempDir(), "big")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "zeros"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1<<30 - 1); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()

	cmd := command(t.Context(), pluginBin, "run", "cut", "-n", ns, "--image", busybox, "--upload", dir+":/big", "--", "true")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var seen strings.Builder
	reader := bufio.NewReader(stderr)
	for !strings.Contains(seen.String(), "uploading files (--upload)") {
		l, err := reader.ReadString('\n')
		seen.WriteString(l)
		if err != nil {
			t.Fatalf("the run ended before its upload began: %v\n%s", err, seen.String())
		}
	}
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(reader)
	_ = cmd.Wait()
	took := time.Since(signalled)
	seen.Write(rest)
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit code after SIGINT during the upload = %d, want 130; stderr:\n%s", code, seen.String())
	}
	if strings.Contains(seen.String(), "testrun: uploaded ") {
		t.Fatalf("the upload was over before the signal, so this test proved nothing about an interrupted upload; stderr:\n%s", seen.String())
	}
	if took > 10*time.Second {
		t.Errorf("took %s to exit after SIGINT, want under 10s", took)
	}
	assertNothingLeft(t, ns)
}

// When the upload container is never reached, the run fails fast with the reason that stops it, as any
// run does: a helper image that cannot be pulled (named, with --helper-image), or a pod no node takes.
func TestRunUploadFailsFastWhenItsContainerCannotRun(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		want  []string
	}{
		{name: "helper image cannot be pulled", flags: []string{"--helper-image", "testrun.local/no-such-helper:v1"},
			want: []string{`the upload container "testrun-upload" cannot start from helper image "testrun.local/no-such-helper:v1"`, "--helper-image"}},
		{name: "unschedulable", flags: []string{"--node-selector", "e2e-no-such-node=yes"},
			want: []string{"cannot be scheduled (Unschedulable)", "--node-selector"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := namespace(t)
			args := append([]string{"run", "never", "-n", ns, "--image", busybox, "--upload", t.TempDir() + ":/work"}, tt.flags...)
			r := testrun(t, append(args, "--", "true")...)
			wantCode(t, r, 125)
			wantStderr(t, r, tt.want...)
			assertNothingLeft(t, ns)
		})
	}
}
