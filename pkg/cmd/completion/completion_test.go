package completion_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/completion"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

func TestShells(t *testing.T) {
	want := []string{"bash", "fish", "powershell", "zsh"}
	if diff := cmp.Diff(want, completion.Shells()); diff != "" {
		t.Errorf("Shells() (-want +got):\n%s", diff)
	}
}

func TestCompletionScript(t *testing.T) {
	// Each script must name the binary it completes: the shell binds the completion to that command name.
	tests := []struct {
		shell string
		want  string
	}{
		{shell: "bash", want: "complete -o default -F __start_kubectl-testrun kubectl-testrun"},
		{shell: "zsh", want: "#compdef kubectl-testrun"},
		{shell: "fish", want: "complete -c kubectl-testrun"},
		{shell: "powershell", want: "Register-ArgumentCompleter -CommandName 'kubectl-testrun'"},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			root := cmd.NewCmdTestrun(streams)
			root.SetArgs([]string{"completion", tt.shell})
			if err := root.ExecuteContext(t.Context()); err != nil {
				t.Fatalf("completion %s: %v (stderr %q)", tt.shell, err, errOut)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("completion %s: the script does not contain %q; it starts with:\n%s",
					tt.shell, tt.want, head(out.String(), 10))
			}
		})
	}
}

func TestCompletionRejectsUnknownShell(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	root := cmd.NewCmdTestrun(streams)
	root.SetArgs([]string{"completion", "sh"})
	err := root.ExecuteContext(t.Context())
	var exitErr *exitcode.Error
	if !errors.As(err, &exitErr) || exitErr.Code != exitcode.CannotRun {
		t.Fatalf("completion sh: got error %v, want an exit code %d error (bad input)", err, exitcode.CannotRun)
	}
	for _, want := range []string{`"sh"`, "bash, fish, powershell, zsh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("completion sh: error %q does not mention %s", err, want)
		}
	}
	if out.Len() != 0 {
		t.Errorf("completion sh: printed %q to stdout, want nothing", out)
	}
}

// head returns the first n lines of s.
func head(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// failingWriter is a stdout that was closed.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) {
	return 0, errors.New("write /dev/stdout: broken pipe")
}

// A script that cannot be written says which one and why.
func TestCompletionScriptThatCannotBeWritten(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o := completion.NewOptions(genericiooptions.IOStreams{In: streams.In, Out: failingWriter{}, ErrOut: streams.ErrOut})
	o.Complete(cmd.NewCmdTestrun(streams), []string{"zsh"})
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	err := o.Run()
	if err == nil || !strings.Contains(err.Error(), "writing the zsh completion script: write /dev/stdout: broken pipe") {
		t.Errorf("Run() with a closed stdout = %v, want an error naming the zsh script and the cause", err)
	}
}
