package delete_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/delete"
)

// seed returns three runs in namespace ci, created 3, 2 and 1 hours ago (two of suite api), and one in
// namespace other, with a Job that is not a run beside them.
func seed(now time.Time) []runtime.Object {
	var objs []runtime.Object
	add := func(name, ns, suite string, age time.Duration) {
		job, pod := testkit.RunObjects(runspec.BuildJob(runspec.Spec{Name: name, Namespace: ns, Image: "tests:1", Labels: map[string]string{"suite": suite}}),
			now.Add(-age), corev1.PodRunning, map[string]corev1.ContainerState{runspec.TestContainer: testkit.Running(now.Add(-age))})
		objs = append(objs, job, pod)
	}
	add("api-old-a1b2c", "ci", "api", 3*time.Hour)
	add("api-new-d3e4f", "ci", "api", 2*time.Hour)
	add("web-new-g5h6i", "ci", "web", time.Hour)
	add("api-else-j7k8l", "other", "api", 3*time.Hour)
	foreign, _ := testkit.RunObjects(runspec.BuildJob(runspec.Spec{Name: "foreign", Namespace: "ci", Image: "x"}), now.Add(-5*time.Hour), corev1.PodPending, nil)
	foreign.Labels = nil
	return append(objs, foreign)
}

func newDelete(client *fake.Clientset) func(genericiooptions.IOStreams) *cobra.Command {
	return func(streams genericiooptions.IOStreams) *cobra.Command {
		return delete.NewCmdDelete(cmdkit.NewFakeFactory(client, "ci"), streams)
	}
}

// jobsLeft returns the names of the Jobs left in the fake cluster, namespace/name, sorted. It reads the
// fake's store, past any reactor a test added.
func jobsLeft(t *testing.T, client *fake.Clientset) []string {
	t.Helper()
	obj, err := client.Tracker().List(batchv1.SchemeGroupVersion.WithResource("jobs"), batchv1.SchemeGroupVersion.WithKind("Job"), "")
	if err != nil {
		t.Fatalf("listing the Jobs left: %v", err)
	}
	var names []string
	for _, j := range obj.(*batchv1.JobList).Items {
		names = append(names, j.Namespace+"/"+j.Name)
	}
	slices.Sort(names)
	return names
}

func TestDeleteRemovesTheRunsAskedFor(t *testing.T) {
	all := []string{"ci/api-new-d3e4f", "ci/api-old-a1b2c", "ci/foreign", "ci/web-new-g5h6i", "other/api-else-j7k8l"}
	without := func(names ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(n string) bool { return slices.Contains(names, n) })
	}
	tests := []struct {
		name       string
		args       []string
		wantStdout string
		wantStderr string
		wantLeft   []string
	}{{
		name:       "by name",
		args:       []string{"api-old-a1b2c", "run/web-new-g5h6i"},
		wantStdout: "run/api-old-a1b2c deleted\nrun/web-new-g5h6i deleted\n",
		wantLeft:   without("ci/api-old-a1b2c", "ci/web-new-g5h6i"),
	}, {
		name:       "all of the namespace, never a Job that is not a run",
		args:       []string{"--all"},
		wantStdout: "run/api-old-a1b2c deleted\nrun/api-new-d3e4f deleted\nrun/web-new-g5h6i deleted\n",
		wantLeft:   without("ci/api-old-a1b2c", "ci/api-new-d3e4f", "ci/web-new-g5h6i"),
	}, {
		name:       "by label",
		args:       []string{"-l", "suite=api"},
		wantStdout: "run/api-old-a1b2c deleted\nrun/api-new-d3e4f deleted\n",
		wantLeft:   without("ci/api-old-a1b2c", "ci/api-new-d3e4f"),
	}, {
		name:       "older than",
		args:       []string{"--all", "--older-than", "150m"},
		wantStdout: "run/api-old-a1b2c deleted\n",
		wantLeft:   without("ci/api-old-a1b2c"),
	}, {
		name:       "older than alone",
		args:       []string{"--older-than", "90m"},
		wantStdout: "run/api-old-a1b2c deleted\nrun/api-new-d3e4f deleted\n",
		wantLeft:   without("ci/api-old-a1b2c", "ci/api-new-d3e4f"),
	}, {
		name:       "nothing that old",
		args:       []string{"-l", "suite=web", "--older-than", "24h"},
		wantStderr: "No runs to delete in namespace \"ci\".\n",
		wantLeft:   all,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(seed(time.Now())...)
			out, errOut, err := testkit.Execute(t, newDelete(client), tt.args...)
			if err != nil {
				t.Fatalf("delete %v: %v (stderr %q)", tt.args, err, errOut)
			}
			if diff := cmp.Diff(tt.wantStdout, out); diff != "" {
				t.Errorf("delete %v stdout (-want +got):\n%s", tt.args, diff)
			}
			if diff := cmp.Diff(tt.wantStderr, errOut); diff != "" {
				t.Errorf("delete %v stderr (-want +got):\n%s", tt.args, diff)
			}
			if diff := cmp.Diff(tt.wantLeft, jobsLeft(t, client)); diff != "" {
				t.Errorf("Jobs left after delete %v (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// By default (--wait) the Job is deleted in the foreground, so that it is gone only once its pods are, and
// delete waits for that; --wait=false deletes in the background and returns at once. Either way the pods go.
func TestDeleteTakesThePodsWithTheJob(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want metav1.DeletionPropagation
	}{
		{args: []string{"api-old-a1b2c"}, want: metav1.DeletePropagationForeground},
		{args: []string{"api-old-a1b2c", "--wait=false"}, want: metav1.DeletePropagationBackground},
	} {
		client := fake.NewClientset(seed(time.Now())...)
		if _, _, err := testkit.Execute(t, newDelete(client), tt.args...); err != nil {
			t.Fatalf("delete %v: %v", tt.args, err)
		}
		var deletes []k8stesting.DeleteActionImpl
		for _, a := range client.Actions() {
			if d, ok := a.(k8stesting.DeleteActionImpl); ok {
				deletes = append(deletes, d)
			}
		}
		if len(deletes) != 1 || deletes[0].GetResource().Resource != "jobs" || deletes[0].Name != "api-old-a1b2c" {
			t.Fatalf("delete %v actions = %+v, want exactly one, of job api-old-a1b2c", tt.args, deletes)
		}
		if p := deletes[0].DeleteOptions.PropagationPolicy; p == nil || *p != tt.want {
			t.Errorf("delete %v: the Job was deleted with propagation %v, want %s", tt.args, p, tt.want)
		}
	}
}

// Several names, one of them missing: the others are deleted, the missing one is named, and the command exits
// 125 (kubectl deletes what exists and fails too); --ignore-not-found makes a missing run no error. A dry run
// deletes nothing: client-side it asks nothing of the API server, server-side it sends the deletion with
// dryRun=All.
func TestDeleteWithAMissingRunOrADryRun(t *testing.T) {
	all := []string{"ci/api-new-d3e4f", "ci/api-old-a1b2c", "ci/foreign", "ci/web-new-g5h6i", "other/api-else-j7k8l"}
	tests := []struct {
		name       string
		args       []string
		wantStdout string
		wantErr    string
		wantLeft   []string
		wantDelete []string
	}{{
		name:       "one missing",
		args:       []string{"api-old-a1b2c", "gone-z9y8x", "web-new-g5h6i"},
		wantStdout: "run/api-old-a1b2c deleted\nrun/web-new-g5h6i deleted\n",
		wantErr:    `run "gone-z9y8x" not found in namespace "ci"`,
		wantLeft:   []string{"ci/api-new-d3e4f", "ci/foreign", "other/api-else-j7k8l"},
		wantDelete: []string{"api-old-a1b2c", "web-new-g5h6i"},
	}, {
		name:       "ignore not found",
		args:       []string{"api-old-a1b2c", "gone-z9y8x", "--ignore-not-found"},
		wantStdout: "run/api-old-a1b2c deleted\n",
		wantLeft:   []string{"ci/api-new-d3e4f", "ci/foreign", "ci/web-new-g5h6i", "other/api-else-j7k8l"},
		wantDelete: []string{"api-old-a1b2c"},
	}, {
		name:       "client dry run",
		args:       []string{"-l", "suite=api", "--dry-run=client"},
		wantStdout: "run/api-old-a1b2c deleted (dry run)\nrun/api-new-d3e4f deleted (dry run)\n",
		wantLeft:   all,
	}, {
		name:       "server dry run",
		args:       []string{"api-new-d3e4f", "--dry-run=server"},
		wantStdout: "run/api-new-d3e4f deleted (server dry run)\n",
		wantLeft:   all,
		wantDelete: []string{"api-new-d3e4f (dry run)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(seed(time.Now())...)
			// The fake has no dry run of its own: a deletion marked dryRun=All is recorded and not made.
			client.PrependReactor("delete", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
				return slices.Equal(a.(k8stesting.DeleteActionImpl).DeleteOptions.DryRun, []string{metav1.DryRunAll}), nil, nil
			})
			out, _, err := testkit.Execute(t, newDelete(client), tt.args...)
			if tt.wantErr != "" {
				testkit.WantBadInput(t, fmt.Sprintf("delete %v", tt.args), err, tt.wantErr)
			} else if err != nil {
				t.Fatalf("delete %v: %v", tt.args, err)
			}
			var deleted []string
			for _, a := range client.Actions() {
				if d, ok := a.(k8stesting.DeleteActionImpl); ok {
					name := d.Name
					if len(d.DeleteOptions.DryRun) > 0 {
						name += " (dry run)"
					}
					deleted = append(deleted, name)
				}
			}
			if diff := cmp.Diff(tt.wantStdout, out); diff != "" {
				t.Errorf("delete %v stdout (-want +got):\n%s", tt.args, diff)
			}
			if diff := cmp.Diff(tt.wantDelete, deleted); diff != "" {
				t.Errorf("delete %v: deletions sent (-want +got):\n%s", tt.args, diff)
			}
			if diff := cmp.Diff(tt.wantLeft, jobsLeft(t, client)); diff != "" {
				t.Errorf("Jobs left after delete %v (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// Bad input, a run that does not exist and an API error exit 125 and delete nothing.
func TestDeleteFailuresExit125(t *testing.T) {
	forbidden := func(verb string) func(*fake.Clientset) {
		return func(c *fake.Clientset) { testkit.Forbid(c, verb, "jobs") }
	}
	tests := []struct {
		name    string
		args    []string
		react   func(*fake.Clientset)
		wantErr []string
	}{
		{name: "nothing named", wantErr: []string{"name the runs to delete", "--all", "-l", "--older-than"}},
		{name: "names and --all", args: []string{"api-old-a1b2c", "--all"}, wantErr: []string{"only one of them"}},
		{name: "--all and -l", args: []string{"--all", "-l", "suite=api"}, wantErr: []string{"only one of them"}},
		{name: "negative age", args: []string{"--all", "--older-than", "-1h"}, wantErr: []string{"--older-than -1h0m0s is negative"}},
		{name: "bad selector", args: []string{"-l", "suite in api"}, wantErr: []string{`-l "suite in api"`}},
		{name: "no such run", args: []string{"gone-z9y8x"}, wantErr: []string{`run "gone-z9y8x" not found in namespace "ci"`, "kubectl testrun list"}},
		{name: "bad dry run", args: []string{"api-old-a1b2c", "--dry-run=maybe"}, wantErr: []string{"--dry-run"}},
		{name: "negative timeout", args: []string{"api-old-a1b2c", "--timeout=-1s"}, wantErr: []string{"--timeout -1s is negative"}},
		{name: "list forbidden", args: []string{"--all"}, react: forbidden("list"), wantErr: []string{"listing runs", "forbidden"}},
		{name: "delete forbidden", args: []string{"api-old-a1b2c"}, react: forbidden("delete"), wantErr: []string{`job "api-old-a1b2c" in namespace "ci"`, "forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(seed(time.Now())...)
			before := jobsLeft(t, client)
			if tt.react != nil {
				tt.react(client)
			}
			out, _, err := testkit.Execute(t, newDelete(client), tt.args...)
			testkit.WantBadInput(t, fmt.Sprintf("delete %v", tt.args), err, tt.wantErr...)
			if out != "" {
				t.Errorf("delete %v printed %q on stdout, want nothing deleted", tt.args, out)
			}
			if diff := cmp.Diff(before, jobsLeft(t, client)); diff != "" {
				t.Errorf("Jobs after a failed delete %v (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}
