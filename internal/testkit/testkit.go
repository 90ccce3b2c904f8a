// Package testkit is what the unit tests of every package share: one golden-file helper with its -update
// flag, one writer of a tree of test files, and the builders of a run's pod as the Job controller and the
// kubelet leave it in a fake clientset.
//
// It imports no package of this module but pkg/exitcode, so that the tests of any package (runspec's own
// included) can use it without an import cycle: callers build a run's Job with runspec.BuildJob and name its containers.
package testkit

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// update rewrites the golden files instead of comparing with them: go test ./pkg/x/ -update.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/ instead of comparing with them")

// Golden compares got with the golden file at path, or rewrites the file with got when the tests run with
// -update. Give an absolute path in a test that changes its working directory.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("updating golden file %s: %v", path, err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("updating golden file %s: %v", path, err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (rerun with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("output differs from %s (-want +got); if intended, rerun with -update:\n%s", path, diff)
	}
}

// WriteFiles writes files (a slash-separated path relative to dir → its content) under dir, creating the
// directories they need.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("writing test file %s: %v", name, err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatalf("writing test file %s: %v", name, err)
		}
	}
}

// Execute runs the command that newCmd builds on test streams, with args, as the root command runs it (no
// usage or error printed by cobra: main reports errors), and returns what it wrote on stdout and stderr and
// its error; exitcode.Code(ctx, err) is then the process's exit code.
func Execute(t testing.TB, newCmd func(genericiooptions.IOStreams) *cobra.Command, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := newCmd(streams)
	if args == nil {
		args = []string{} // nil would make cobra read the test binary's own arguments
	}
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// Forbid makes client refuse verb on resource, as an API server refuses a user without the right.
func Forbid(client *fake.Clientset, verb, resource string) {
	client.PrependReactor(verb, resource, func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", nil)
	})
}

// WantBadInput fails t unless err makes the command exit 125 (bad input or an API error, docs/exit-codes.md)
// with a message that says each of wants; what names the command and its arguments in the failure.
func WantBadInput(t testing.TB, what string, err error, wants ...string) {
	t.Helper()
	if code := exitcode.Code(t.Context(), err); code != exitcode.CannotRun {
		t.Errorf("%s exit code = %d (error %v), want %d", what, code, err, exitcode.CannotRun)
	}
	for _, want := range wants {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s error %v does not say %q", what, err, want)
		}
	}
}

// MainInOwnTempDir is a TestMain body: it runs the package's tests with a temporary directory of their own as
// $TMPDIR (a failed run saves its diagnostics there, and the tests must leave nothing behind), removes it and
// exits with the tests' code.
func MainInOwnTempDir(m *testing.M) {
	dir, err := os.MkdirTemp("", "testrun-unit-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", dir)
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
