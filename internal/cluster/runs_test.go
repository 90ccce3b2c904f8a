package cluster

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"slices"
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
