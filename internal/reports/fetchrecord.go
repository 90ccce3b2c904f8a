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
	command := []string{"touch", runspec.ReleaseFile}
	if rec != nil {
		// The release comes whether or not the record could be written: the test's status matters more.
		command = []string{"sh", "-c", `printf '%s\n' "$1" > "$2"; touch "$3"`, "release", rec.Encode(), runspec.FetchedFile, runspec.ReleaseFile}
	}
	return exec.Exec(ctx, namespace, pod, runspec.HolderContainer, command, nil, io.Discard, io.Discard)
}
