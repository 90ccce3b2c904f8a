package outcome

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// A run ended when its test container did; a run whose test never ended, when the Job was marked ended;
// a run still going has no end. The result document of run says the same as describe and list.
func TestEndTime(t *testing.T) {
	testEnd := metav1.NewTime(time.Date(2026, 11, 26, 9, 0, 42, 0, time.UTC))
	jobEnd := metav1.NewTime(testEnd.Add(5 * time.Second))
	ended := &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: runspec.TestContainer,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, FinishedAt: testEnd}}}}}}
	running := &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: runspec.TestContainer,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
	failedJob := &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: jobEnd}}}}
	tests := []struct {
		name string
		job  *batchv1.Job
		pod  *corev1.Pod
		want *metav1.Time
	}{
		{"the test ended", failedJob, ended, &testEnd},
		{"the test never ended, the Job failed", failedJob, running, &jobEnd},
		{"no pod, the Job failed", failedJob, nil, &jobEnd},
		{"still running", &batchv1.Job{}, running, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EndTime(tt.job, tt.pod)
			if (got == nil) != (tt.want == nil) || (got != nil && !got.Equal(tt.want)) {
				t.Errorf("EndTime = %v, want %v", got, tt.want)
			}
		})
	}
	r := NewResult(runspec.Spec{Name: "x"}, Outcome{TestEnded: true, ExitCode: 2}, ended, testEnd.Add(-time.Minute))
	if r.CompletionTime == nil || !r.CompletionTime.Equal(&testEnd) {
		t.Errorf("run's result completionTime = %v, want the test's end %v", r.CompletionTime, testEnd)
	}
}
