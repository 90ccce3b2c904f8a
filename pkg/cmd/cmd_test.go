package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
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
		{[]string{"logs"}, "name a run, or select runs with -l"},
		{[]string{"logs", "x", "-l", "a=b"}, "not both"},
		{[]string{"logs", "-l", "a in ("}, "-l"},
		{[]string{"wait", "x", "--timeout", "-1s"}, "--timeout"},
		{[]string{"wait", "x", "--color", "pink"}, "--color"},
		{[]string{"wait", "x", "--schedule-timeout", "-1m"}, "--schedule-timeout -1m0s is negative"},
		{[]string{"wait"}, "accepts 1 arg"},
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
