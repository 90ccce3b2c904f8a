package list

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cluster"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

func TestTableShowsStatusExitAgeAndDuration(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	labels := map[string]string{runspec.LabelRun: "smoke-abcde"}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke-abcde", Namespace: "ci", Labels: labels, CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Minute))},
		Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "app-tests:1.2"}}}}},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke-abcde-x", Namespace: "ci"},
		Spec:       corev1.PodSpec{NodeName: "node-1"},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
			Name: runspec.TestContainer,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error",
				StartedAt: metav1.NewTime(now.Add(-4 * time.Minute)), FinishedAt: metav1.NewTime(now.Add(-2 * time.Minute))}},
		}}},
	}
	runs := []cluster.Run{{Job: job, Pod: pod}, {Job: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "new-fghij", Labels: map[string]string{runspec.LabelRun: "new-fghij"}, CreationTimestamp: metav1.NewTime(now.Add(-3 * time.Second))}}}}
	tests := []struct {
		name string
		opts printers.PrintOptions
		want string
	}{{
		name: "narrow",
		want: "NAME          STATUS    EXIT   SHARDS   AGE   DURATION\n" +
			"smoke-abcde   Failed    2      -        5m    2m\n" +
			"new-fghij     Pending   -      -        3s    -\n",
	}, {
		name: "wide",
		opts: printers.PrintOptions{Wide: true},
		want: "NAME          STATUS    EXIT   SHARDS   AGE   DURATION   POD             NODE     IMAGE\n" +
			"smoke-abcde   Failed    2      -        5m    2m         smoke-abcde-x   node-1   app-tests:1.2\n" +
			"new-fghij     Pending   -      -        3s    -          <none>          <none>   \n",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := printers.NewTablePrinter(tc.opts).PrintObj(Table(runs, now), &out); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
		})
	}
}
