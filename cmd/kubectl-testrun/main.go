// Command kubectl-testrun is the kubectl plugin that runs test suites as Jobs inside a cluster.
package main

import (
	"context"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/interrupt"
)

func main() {
	// SIGINT, SIGTERM, SIGHUP or a closed stdout/stderr cancel the context so that commands clean up; a
	// second signal exits at once.
	ctx, cancel := interrupt.Context(context.Background(), os.Exit)
	// SIGUSR1 (and SIGINFO) asks every run, wait and logs -f for a progress report; it never ends the process.
	ctx = interrupt.WithInfo(ctx, interrupt.NotifyInfo())
	cmd.SilenceHandledErrors()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: interrupt.Output(os.Stdout, cancel), ErrOut: interrupt.Output(os.Stderr, cancel)}
	err := cmd.NewCmdTestrun(streams).ExecuteContext(ctx)
	os.Exit(exitcode.Report(ctx, err, streams.ErrOut))
}
