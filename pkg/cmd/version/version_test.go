package version_test

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
	cmdversion "github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/version"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/version"
)

// stamp sets the build's version as the Makefile's -ldflags would, for the test's duration.
func stamp(t *testing.T) version.Info {
	t.Helper()
	old := [3]string{version.Version, version.Commit, version.Date}
	version.Version, version.Commit, version.Date = "v1.2.3", "0123abc", "2026-11-26T12:00:00Z"
	t.Cleanup(func() { version.Version, version.Commit, version.Date = old[0], old[1], old[2] })
	return version.Info{Version: "v1.2.3", Commit: "0123abc", Date: "2026-11-26T12:00:00Z",
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}

func newCmd(streams genericiooptions.IOStreams) *cobra.Command {
	return cmdversion.NewCmdVersion(streams)
}

func TestVersionPrintsOneLineOrADocument(t *testing.T) {
	want := stamp(t)
	tests := []struct {
		name      string
		args      []string
		unmarshal func([]byte, any) error // nil: the one-line form
	}{
		{name: "one line"},
		{name: "json", args: []string{"-o", "json"}, unmarshal: json.Unmarshal},
		{name: "yaml", args: []string{"-o", "yaml"}, unmarshal: func(b []byte, v any) error { return yaml.UnmarshalStrict(b, v) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := testkit.Execute(t, newCmd, tt.args...)
			if err != nil || errOut != "" {
				t.Fatalf("version %v: error %v, stderr %q; want none", tt.args, err, errOut)
			}
			if tt.unmarshal == nil {
				line := "kubectl-testrun v1.2.3 (commit 0123abc, built 2026-11-26T12:00:00Z, " + want.GoVersion + ", " + want.Platform + ")\n"
				if diff := cmp.Diff(line, out); diff != "" {
					t.Errorf("version (-want +got):\n%s", diff)
				}
				return
			}
			var got version.Info
			if err := tt.unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("version %v printed a document that does not parse as version.Info: %v\n%s", tt.args, err, out)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("version %v document (-want +got):\n%s", tt.args, diff)
			}
		})
	}
	// The JSON document is indented the way every verb's -o json is.
	out, _, _ := testkit.Execute(t, newCmd, "-o", "json")
	if !strings.HasPrefix(out, "{\n    \"version\": \"v1.2.3\",\n") {
		t.Errorf("version -o json is not indented by four spaces like the other verbs' documents:\n%s", out)
	}
}

func TestVersionRejectsBadInput(t *testing.T) {
	stamp(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  []string
	}{
		{name: "unknown format", args: []string{"-o", "xml"}, wantCode: exitcode.CannotRun, wantErr: []string{"--output", `"xml"`, "json or yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := testkit.Execute(t, newCmd, tt.args...)
			if code := exitcode.Code(t.Context(), err); code != tt.wantCode {
				t.Errorf("version %v exit code = %d (error %v), want %d", tt.args, code, err, tt.wantCode)
			}
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("version %v error %v does not say %q", tt.args, err, want)
				}
			}
			if out != "" {
				t.Errorf("version %v printed %q on stdout, want nothing after bad input", tt.args, out)
			}
		})
	}
}
