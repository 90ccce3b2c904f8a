package cluster

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func runObjects(name, ns string, created time.Time, test corev1.ContainerState) (*batchv1.Job, *corev1.Pod) {
	l := map[string]string{runspec.LabelManagedBy: runspec.ManagedByValue, runspec.LabelRun: name}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l, CreationTimestamp: metav1.NewTime(created)}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-p", Namespace: ns, Labels: l, CreationTimestamp: metav1.NewTime(created)},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: runspec.TestContainer, State: test},
			{Name: runspec.HolderContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
		}},
	}
	return job, pod
}

func TestListRunsFindsRunsByLabelsAndTellsTheirStatus(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ended := func(code int32) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code,
			StartedAt: metav1.NewTime(t0), FinishedAt: metav1.NewTime(t0.Add(90 * time.Second))}}
	}
	var objs []runtime.Object
	add := func(j *batchv1.Job, p *corev1.Pod) { objs = append(objs, j, p) }
	add(runObjects("passed", "ci", t0, ended(0)))
	add(runObjects("failed", "ci", t0.Add(time.Minute), ended(4)))
	add(runObjects("running", "ci", t0.Add(2*time.Minute), corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0)}}))
	add(runObjects("elsewhere", "other", t0, ended(0)))
	// A Job without the plugin's labels is not a run.
	objs = append(objs, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "foreign", Namespace: "ci"}})
	client := fake.NewClientset(objs...)

	runs, err := ListRuns(t.Context(), client, "ci", nil)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, Status string
		Exit         int
		Ended        bool
	}
	var got []row
	for _, r := range runs {
		code, ok := r.ExitCode()
		got = append(got, row{r.Name(), r.Status(), code, ok})
	}
	want := []row{{"passed", "Passed", 0, true}, {"failed", "Failed", 4, true}, {"running", "Running", 0, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	if d, ok := runs[0].Duration(); !ok || d != 90*time.Second {
		t.Errorf("duration of the passed run = %s, %v; want 1m30s", d, ok)
	}

	all, err := ListRuns(t.Context(), client, "", labels.SelectorFromSet(labels.Set{runspec.LabelRun: "elsewhere"}))
	if err != nil || len(all) != 1 || all[0].Job.Namespace != "other" {
		t.Errorf("ListRuns across namespaces with a selector = %v, %v", all, err)
	}

	deleted, err := DeleteRuns(t.Context(), client, runs[:2], DeleteOptions{})
	if err != nil || !slices.Equal(deleted, []string{"passed", "failed"}) {
		t.Errorf("DeleteRuns = %v, %v", deleted, err)
	}
	left, _ := ListRuns(t.Context(), client, "ci", nil)
	if len(left) != 1 || left[0].Name() != "running" {
		t.Errorf("after delete, runs = %v", left)
	}
	if _, err := GetRun(t.Context(), client, "ci", "passed"); err == nil {
		t.Error("GetRun found a deleted run")
	}
}

// A sharded run is one run with a pod per shard: it runs until every shard ended, then ends as its failing
// shard of the lowest index (not the first to fail in time); its result document has a row per shard.
func TestShardedRunEndsAsItsFailingShardOfTheLowestIndex(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ended := func(code int32, at time.Duration) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Completed",
			StartedAt: metav1.NewTime(t0), FinishedAt: metav1.NewTime(t0.Add(at))}}
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0)}}
	objects := func(states ...corev1.ContainerState) []runtime.Object {
		job, _ := runObjects("sharded", "ci", t0, running)
		job.Spec.CompletionMode, job.Spec.Completions = ptrTo(batchv1.IndexedCompletion), ptrTo(int32(len(states)))
		objs := []runtime.Object{job}
		for i, s := range states {
			_, pod := runObjects("sharded", "ci", t0, s)
			pod.Name = fmt.Sprintf("sharded-%d-p", i)
			pod.Labels = map[string]string{runspec.LabelManagedBy: runspec.ManagedByValue, runspec.LabelRun: "sharded", runspec.LabelShard: strconv.Itoa(i)}
			objs = append(objs, pod)
		}
		return objs
	}
	type view struct {
		Status    string
		Exit      int
		Ended     bool
		Done      int
		ShardPods []string
		ShardRows []string
		Phase     string
		DocExit   int
		DocPods   int
	}
	tests := []struct {
		name string
		objs []runtime.Object
		want view
	}{{
		name: "a shard still runs",
		objs: objects(ended(0, time.Minute), ended(2, time.Minute), running),
		want: view{Status: PhaseRunning, Done: 2, ShardPods: []string{"sharded-0-p", "sharded-1-p", "sharded-2-p"},
			ShardRows: []string{"0 Passed 0", "1 Failed 2", "2 Running 0"}, Phase: PhaseRunning, DocPods: 3},
	}, {
		name: "every shard ended: the lowest failing index wins, not the first in time",
		objs: objects(ended(0, time.Minute), ended(3, 3*time.Minute), ended(2, time.Minute)),
		want: view{Status: "Failed", Exit: 3, Ended: true, Done: 3, ShardPods: []string{"sharded-0-p", "sharded-1-p", "sharded-2-p"},
			ShardRows: []string{"0 Passed 0", "1 Failed 3", "2 Failed 2"}, Phase: "Failed", DocExit: 3, DocPods: 3},
	}, {
		name: "every shard passed",
		objs: objects(ended(0, time.Minute), ended(0, time.Minute)),
		want: view{Status: "Passed", Ended: true, Done: 2, ShardPods: []string{"sharded-0-p", "sharded-1-p"},
			ShardRows: []string{"0 Passed 0", "1 Passed 0"}, Phase: "Passed", DocPods: 2},
	}, {
		name: "a shard without a pod yet",
		objs: objects(ended(0, time.Minute), ended(1, time.Minute), running)[:3],
		want: view{Status: PhaseRunning, Done: 2, ShardPods: []string{"sharded-0-p", "sharded-1-p", ""},
			ShardRows: []string{"0 Passed 0", "1 Failed 1", "2 Pending 0"}, Phase: PhaseRunning, DocPods: 2},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runs, err := ListRuns(t.Context(), fake.NewClientset(tc.objs...), "ci", nil)
			if err != nil || len(runs) != 1 {
				t.Fatalf("ListRuns() = %v, %v; want one run", runs, err)
			}
			r := runs[0]
			code, ok := r.ExitCode()
			doc := r.Summary()
			got := view{Status: r.Status(), Exit: code, Ended: ok, Done: r.ShardsDone(), Phase: doc.Phase, DocExit: doc.ExitCode, DocPods: len(doc.Pods)}
			for _, p := range r.Shards {
				name := ""
				if p != nil {
					name = p.Name
				}
				got.ShardPods = append(got.ShardPods, name)
			}
			for _, s := range doc.Shards {
				got.ShardRows = append(got.ShardRows, fmt.Sprintf("%d %s %d", s.Index, s.Phase, s.ExitCode))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("the sharded run (-want +got):\n%s", diff)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
