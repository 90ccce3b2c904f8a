package reports

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"context"
	"io"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/podexec"
)

// ReleaseHolder tells the holder of pod to exit, so the pod and the Job finish with the test's status;
// with a record of the fetched reports, which the holder carries out (see FetchRecord).
func ReleaseHolder(ctx context.Context, exec podexec.Executor, namespace, pod string, rec *outcome.FetchRecord) error {
	// The release comes whether or not the record could be written: the test's status matters more. The wake
	// FIFO is opened for reading and writing, which never blocks, and gets a line for each of its readers (the
	// holder, a fetch container and the wait for the test's end, AwaitEnd); a reader that was not waiting on it at that moment sees the release file
	// within a second anyway (see runspec's holderScript).
	record := ""
	if rec != nil {
		record = rec.Encode()
	}
	command := []string{"sh", "-c", `[ -z "$3" ] || printf '%s\n' "$3" > "$4"; touch "$1"; [ -p "$2" ] && printf '\n\n\n' 1<> "$2"; true`,
		"release", runspec.ReleaseFile, runspec.WakeFile, record, runspec.FetchedFile}
	return exec.Exec(ctx, namespace, pod, runspec.HolderContainer, command, nil, io.Discard, io.Discard)
}
