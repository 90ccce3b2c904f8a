package cmd

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"
	"k8s.io/kubectl/pkg/cmd/util/sanity"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// Every command follows kubectl's help conventions: a long description, examples that start with a comment
// and a "kubectl testrun" line, flags with lowercase usage.
func TestCommandsFollowKubectlConventions(t *testing.T) {
	root := NewCmdTestrun(genericiooptions.NewTestIOStreamsDiscard())
	skip := []string{"kubectl-testrun", "help", "completion", "__complete", "__completeNoDesc"}
	errs := sanity.RunCmdChecks(root, []sanity.CmdCheck{sanity.CheckLongDesc, sanity.CheckExamples, sanity.CheckFlags}, skip)
	for _, err := range errs {
		t.Error(err)
	}
	for _, c := range root.Commands() {
		if c.Example != "" && !strings.Contains(c.Example, "kubectl testrun "+c.Name()) {
			t.Errorf("the examples of %q do not show kubectl testrun %s", c.Name(), c.Name())
		}
	}
}

// Bad input to the commands that work on existing runs exits 125 with a message naming what to fix, before
// any cluster is contacted.
func TestRunCommandsRejectBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"logs"}, "or select runs with -l"},
		{[]string{"logs", "x", "--previous"}, "--previous: a run's containers never restart"},
		{[]string{"logs", "x", "-c", "sidecar"}, `-c "sidecar" is not a container of a run`},
		{[]string{"logs", "x", "--since-time", "yesterday"}, `--since-time "yesterday" is not an RFC3339 time`},
		{[]string{"logs", "x", "--since", "1m", "--since-time", "2026-11-26T19:00:00Z"}, "give only one of them"},
		{[]string{"logs", "x", "--tail", "-2"}, "--tail -2"},
		{[]string{"logs", "x", "-c", "holder", "--all-containers"}, "give only one of them"},
		{[]string{"describe"}, "or select runs with -l"},
		{[]string{"describe", "x", "-l", "a=b"}, "not both"},
		{[]string{"delete", "x", "--dry-run=maybe"}, "--dry-run"},
		{[]string{"list", "--sort-by", ".name", "--watch"}, "--sort-by does not go with --watch"},
		{[]string{"logs", "x", "-l", "a=b"}, "not both"},
		{[]string{"logs", "-l", "a in ("}, "-l"},
		{[]string{"wait", "x", "--timeout", "-1s"}, "--timeout"},
		{[]string{"wait", "x", "--color", "pink"}, "--color"},
		{[]string{"wait", "x", "--schedule-timeout", "-1m"}, "--schedule-timeout -1m0s is negative"},
		{[]string{"wait"}, "or select runs with -l"},
		{[]string{"delete"}, "use --all, -l or --older-than"},
		{[]string{"delete", "x", "--all"}, "only one of them"},
		{[]string{"list", "-o", "table"}, `--output "table"`},
		{[]string{"describe", "x", "-o", "wide"}, `--output "wide"`},
		{[]string{"fetch", "x"}, "--to is required"},
		{[]string{"fetch", "pod/x", "--to", "out"}, "--path is required"},
		{[]string{"fetch", "x", "--to", "out", "--path", "/a"}, "--path goes with pod/NAME"},
		{[]string{"list", "--bogus"}, "unknown flag: --bogus"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("KUBECONFIG", t.TempDir()+"/none")
			var out, errOut bytes.Buffer
			root := NewCmdTestrun(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
			root.SetArgs(tc.args)
			err := root.ExecuteContext(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if code := exitcode.Code(context.Background(), err); code != exitcode.CannotRun && !strings.Contains(tc.want, "accepts") {
				t.Errorf("exit code = %d, want 125 for bad input", code)
			}
		})
	}
}

// -v=6 on a verb logs each API request the verb makes, the way kubectl -v=6 does, and the default logs none.
func TestVerbosityFlagLogsAPIRequests(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/apis/batch/v1/namespaces/ns/jobs":
			fmt.Fprint(w, `{"apiVersion":"batch/v1","kind":"JobList","items":[]}`)
		case "/api/v1/namespaces/ns/pods":
			fmt.Fprint(w, `{"apiVersion":"v1","kind":"PodList","items":[]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	t.Setenv("KUBECONFIG", t.TempDir()+"/none")
	var logged bytes.Buffer
	klog.LogToStderr(false)
	klog.SetOutput(&logged)
	t.Cleanup(func() {
		klog.LogToStderr(true)
		klog.SetOutput(os.Stderr)
	})

	for _, tc := range []struct {
		verbosity string
		want      bool
	}{
		{"-v=6", true},
		{"--v=0", false},
	} {
		t.Run(tc.verbosity, func(t *testing.T) {
			logged.Reset()
			root := NewCmdTestrun(genericiooptions.NewTestIOStreamsDiscard())
			root.SetArgs([]string{"list", "-n", "ns", "--server", api.URL, tc.verbosity})
			if err := root.ExecuteContext(t.Context()); err != nil {
				t.Fatalf("kubectl testrun list %s: %v", tc.verbosity, err)
			}
			klog.Flush()
			request := `verb="GET" url="` + api.URL + `/apis/batch/v1/namespaces/ns/jobs`
			if got := strings.Contains(logged.String(), request); got != tc.want {
				t.Errorf("with %s, the log has the request %s: %v, want %v; the log:\n%s", tc.verbosity, request, got, tc.want, logged.String())
			}
		})
	}
}
