package testrun

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func TestMountWatchReadsTheKubeletsEvents(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "run-x", Namespace: "ci", UID: types.UID("u1")},
		Spec:       corev1.PodSpec{NodeName: "node-1"},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: TestContainer, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
		}}},
	}
	event := func(name, reason, message string, at time.Time, uid types.UID) runtime.Object {
		return &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: "ci"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "run-x", Namespace: "ci", UID: uid},
			Reason:         reason, Message: message, LastTimestamp: metav1.NewTime(at),
		}
	}
	t0 := time.Now()
	tests := []struct {
		name       string
		events     []runtime.Object
		wantFailed bool
		wantStatus string
	}{
		{"nothing yet", nil, false, ""},
		{"pulling", []runtime.Object{event("a", "Scheduled", "ok", t0, "u1"), event("b", "Pulling", `Pulling image "app:1"`, t0.Add(time.Second), "u1")},
			false, `pulling: Pulling image "app:1"`},
		{"missing secret", []runtime.Object{event("c", "FailedMount", `MountVolume.SetUp failed for volume "token" : secret "absent" not found`, t0, "u1")},
			true, ""},
		{"another pod of the same name", []runtime.Object{event("d", "FailedMount", `secret "absent" not found`, t0, "old")}, false, ""},
		{"a mount still in progress", []runtime.Object{event("e", "FailedMount", "timed out waiting for the condition", t0, "u1")}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMountWatch(fake.NewClientset(tc.events...))
			defer m.stop()
			o, failed := m.check(t.Context(), pod)
			if failed != tc.wantFailed || m.Status() != tc.wantStatus {
				t.Fatalf("check = failed %v status %q, want %v %q", failed, m.Status(), tc.wantFailed, tc.wantStatus)
			}
			if failed && (o.ExitCode != 125 || o.Reason != "FailedMount" || !strings.Contains(o.Message, `secret "absent" not found`)) {
				t.Errorf("outcome = %+v, want 125 FailedMount naming the Secret", o)
			}
		})
	}
}
