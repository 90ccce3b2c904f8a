// Command kubectl-testrun is the kubectl plugin that runs test suites as Jobs inside a cluster.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

func main() {
	// The first SIGINT/SIGTERM cancels the context so that commands clean up; a second one exits at once.
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		cancel(exitcode.Interrupted((<-signals).(syscall.Signal)))
		os.Exit(exitcode.ForSignal((<-signals).(syscall.Signal)))
	}()
	cmd.SilenceCancelledWatches()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := cmd.NewCmdTestrun(streams).ExecuteContext(ctx)
	os.Exit(exitcode.Report(ctx, err, streams.ErrOut))
}
