package runwatch

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// podEvent is an event about the pod run-x in namespace ci, or about an earlier pod of that name (another uid).
func podEvent(name, reason, message string, at time.Time, uid types.UID) runtime.Object {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: "ci"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "run-x", Namespace: "ci", UID: uid},
		Reason:         reason, Message: message, LastTimestamp: metav1.NewTime(at),
	}
}

func TestEventWatchReadsTheKubeletsEvents(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "run-x", Namespace: "ci", UID: types.UID("u1")},
		Spec:       corev1.PodSpec{NodeName: "node-1"},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: runspec.TestContainer, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
		}}},
	}
	t0 := time.Now()
	tests := []struct {
		name       string
		events     []runtime.Object
		wantFailed bool
		wantStatus string
	}{
		{"nothing yet", nil, false, "creating"},
		{"pulling", []runtime.Object{podEvent("a", "Scheduled", "ok", t0, "u1"), podEvent("b", "Pulling", `Pulling image "app:1"`, t0.Add(time.Second), "u1")},
			false, `pulling: Pulling image "app:1"`},
		{"missing secret", []runtime.Object{podEvent("c", "FailedMount", `MountVolume.SetUp failed for volume "token" : secret "absent" not found`, t0, "u1")},
			true, "volume cannot be mounted"},
		{"another pod of the same name", []runtime.Object{podEvent("d", "FailedMount", `secret "absent" not found`, t0, "old")}, false, "creating"},
		{"a mount still in progress", []runtime.Object{podEvent("e", "FailedMount", "timed out waiting for the condition", t0, "u1")}, false, "creating"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEventWatch(fake.NewClientset(tc.events...), 0)
			defer e.Stop()
			o := e.Refine(t.Context(), nil, pod, outcome.Outcome{Status: "creating"})
			if o.Done != tc.wantFailed || o.Status != tc.wantStatus {
				t.Fatalf("refine = done %v status %q, want %v %q", o.Done, o.Status, tc.wantFailed, tc.wantStatus)
			}
			if o.Done && (o.ExitCode != 125 || o.Reason != "FailedMount" || !strings.Contains(o.Message, `secret "absent" not found`)) {
				t.Errorf("outcome = %+v, want 125 FailedMount naming the Secret", o)
			}
		})
	}
}

func TestEventWatchWaitsForANodeWithinTheScheduleTimeout(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "run-x", Namespace: "ci", UID: types.UID("u1")},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/3 nodes are available: 3 Insufficient cpu.",
		}}},
	}
	failing, ok := outcome.Unschedulable(pod)
	if !ok {
		t.Fatal("Classify no longer reads the pod as Unschedulable: fix the test's pod")
	}
	t0 := time.Now()
	scaleUp := podEvent("a", reasonScaleUp, "pod triggered scale-up: [{pool-1 1->2 (max: 5)}]", t0, "u1")
	noScaleUp := podEvent("b", reasonNoScaleUp, "pod didn't trigger scale-up: 1 max node group size reached", t0.Add(time.Second), "u1")
	tests := []struct {
		name            string
		scheduleTimeout time.Duration
		events          []runtime.Object
		wantDone        bool
		want            string // in the message when done, in the status otherwise
	}{
		{"no schedule timeout fails at once", 0, []runtime.Object{scaleUp}, true, "3 Insufficient cpu"},
		{"within the schedule timeout", time.Hour, nil, false, "unschedulable, waiting up to --schedule-timeout 1h0m0s for a node"},
		{"the schedule timeout passed", time.Nanosecond, []runtime.Object{scaleUp}, true, "still so after --schedule-timeout 1ns"},
		{"an autoscaler adds a node", time.Hour, []runtime.Object{scaleUp}, false, "waiting for the node an autoscaler adds (TriggeredScaleUp: pod triggered scale-up: [{pool-1 1->2 (max: 5)}])"},
		{"Karpenter launches a node", time.Hour, []runtime.Object{podEvent("k", reasonNominated, "Pod should schedule on: nodeclaim/default-abc", t0, "u1")}, false, "(Nominated: Pod should schedule on: nodeclaim/default-abc)"},
		{"the autoscaler will not add a node", time.Hour, []runtime.Object{scaleUp, noScaleUp}, true, "will not add a node for it (NotTriggerScaleUp: pod didn't trigger scale-up: 1 max node group size reached)"},
		{"a scale-up after an earlier refusal", time.Hour, []runtime.Object{noScaleUp, podEvent("c", reasonScaleUp, "pod triggered scale-up: [{pool-2 0->1}]", t0.Add(2*time.Second), "u1")}, false, "pool-2 0->1"},
		{"a refusal for an earlier pod of the same name", time.Hour, []runtime.Object{podEvent("d", reasonNoScaleUp, "no", t0, "old")}, false, "waiting up to --schedule-timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(tc.events...)
			e := NewEventWatch(client, tc.scheduleTimeout)
			defer e.Stop()
			o := e.Refine(t.Context(), nil, pod, failing)
			got := o.Status
			if o.Done {
				got = o.Message
				if o.ExitCode != 125 || o.Reason != corev1.PodReasonUnschedulable || !strings.HasPrefix(o.Message, failing.Message) {
					t.Errorf("outcome = %+v, want Classify's 125 Unschedulable with its message first", o)
				}
			}
			if o.Done != tc.wantDone || !strings.Contains(got, tc.want) {
				t.Errorf("refine = done %v, %q; want done %v with %q", o.Done, got, tc.wantDone, tc.want)
			}
			if tc.scheduleTimeout == 0 && len(client.Actions()) != 0 {
				t.Errorf("without --schedule-timeout the events were read (%d calls): failing fast needs no request", len(client.Actions()))
			}
		})
	}
}

func TestEventWatchReadsEventsAtMostEveryInterval(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "run-x", Namespace: "ci", UID: types.UID("u1")},
		Spec:       corev1.PodSpec{NodeName: "node-1"},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	client := fake.NewClientset(podEvent("a", "Pulling", `Pulling image "app:1"`, time.Now(), "u1"))
	e := NewEventWatch(client, 0)
	defer e.Stop()
	for range 5 {
		if o := e.Refine(t.Context(), nil, pod, outcome.Outcome{}); o.Status != `pulling: Pulling image "app:1"` {
			t.Fatalf("status = %q, want the pull from the events read before", o.Status)
		}
	}
	if n := len(client.Actions()); n != 1 {
		t.Errorf("events listed %d times for 5 looks within %s, want once", n, eventCheckEvery)
	}
}

// A Job whose pod the API server refuses fails at once with 125, naming the refusal and its fix; a refusal
// of another Job of the same name, or a Job that has its pod, changes nothing.
func TestEventWatchFailsARunWhosePodIsRefused(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "run-x", Namespace: "ci", UID: types.UID("j1")}}
	refused := func(uid types.UID, message string) runtime.Object {
		return &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "ev-" + string(uid), Namespace: "ci"},
			InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: "run-x", Namespace: "ci", UID: uid},
			Reason:         "FailedCreate", Message: message,
		}
	}
	tests := []struct {
		name     string
		event    runtime.Object
		wantDone bool
		wantHint string
	}{
		{"missing service account", refused("j1", `Error creating: pods "run-x-abcde" is forbidden: error looking up service account ci/ghost: serviceaccount "ghost" not found`), true, "fix --service-account"},
		{"PodSecurity", refused("j1", `Error creating: pods "run-x-abcde" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true`), true, "--restricted"},
		{"quota", refused("j1", `Error creating: pods "run-x-abcde" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1`), true, "ResourceQuota"},
		{"limit range", refused("j1", `Error creating: pods "run-x-abcde" is forbidden: maximum memory usage per Container is 64Mi, but limit is 1Gi`), true, "LimitRange"},
		{"webhook", refused("j1", `Error creating: admission webhook "deny.example.com" denied the request: no`), true, "admission webhook"},
		{"an earlier job of the same name", refused("old", `Error creating: pods "run-x" is forbidden: x`), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEventWatch(fake.NewClientset(tc.event), 0)
			defer e.Stop()
			o := e.Refine(t.Context(), job, nil, outcome.Outcome{Status: "waiting for the pod"})
			if o.Done != tc.wantDone {
				t.Fatalf("refine = %+v, want done %v", o, tc.wantDone)
			}
			if !o.Done {
				return
			}
			if o.ExitCode != 125 || o.Reason != "FailedCreate" || !strings.Contains(o.Message, tc.wantHint) || strings.Contains(o.Message, "Error creating") {
				t.Errorf("outcome = %+v, want 125 FailedCreate with the refusal and the hint %q", o, tc.wantHint)
			}
		})
	}
}

func TestTransientTaintsTellAPassingConditionFromAMismatch(t *testing.T) {
	notReady := func() []string { return []string{"node.kubernetes.io/not-ready"} }
	userTaint := func() []string { return []string{"node.kubernetes.io/not-ready", "dedicated"} }
	unknown := func() []string { return nil }
	tests := []struct {
		msg         string
		untolerated func() []string
		want        string
	}{
		{"0/1 nodes are available: 1 node(s) had untolerated taint(s). no new claims to deallocate, preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.", notReady, "node.kubernetes.io/not-ready"},
		{"0/1 nodes are available: 1 node(s) had untolerated taint(s). preemption: x", userTaint, ""},
		{"0/1 nodes are available: 1 node(s) had untolerated taint(s). preemption: x", unknown, ""},
		{"0/1 nodes are available: 1 node(s) had untolerated taint(s). preemption: x", func() []string { return []string{} }, "a taint removed since"},
		{"0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.", unknown, "node.kubernetes.io/not-ready"},
		{"0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 node(s) had untolerated taint {node.kubernetes.io/memory-pressure: }. preemption: x", unknown, "node.kubernetes.io/unreachable, node.kubernetes.io/memory-pressure"},
		{"0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint(s). preemption: x", notReady, ""},
		{"0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: x", notReady, ""},
		{"0/1 nodes are available: 1 node(s) were unschedulable. no new claims to deallocate, preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.", unknown, "node.kubernetes.io/unschedulable"},
		{"0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. no new claims to deallocate, preemption: x", unknown, ""},
		{"0/2 nodes are available: 1 node(s) were unschedulable, 1 node(s) had untolerated taint(s). preemption: x", notReady, "node.kubernetes.io/unschedulable, node.kubernetes.io/not-ready"},
		{"0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}. preemption: x", unknown, ""},
		{"no nodes available to schedule pods", notReady, ""},
		{"", notReady, ""},
	}
	for _, tc := range tests {
		if got := transientTaints(tc.msg, tc.untolerated); got != tc.want {
			t.Errorf("transientTaints(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

// The taints a pod does not tolerate are read from the nodes its selector allows; tolerated ones and
// PreferNoSchedule do not count.
func TestEventWatchReadsTheTaintsAPodDoesNotTolerate(t *testing.T) {
	node := func(name string, labels map[string]string, taints ...corev1.Taint) runtime.Object {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	e := NewEventWatch(fake.NewClientset(
		node("a", map[string]string{"pool": "ci"}, corev1.Taint{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule},
			corev1.Taint{Key: "dedicated", Value: "ci", Effect: corev1.TaintEffectNoSchedule},
			corev1.Taint{Key: "soft", Effect: corev1.TaintEffectPreferNoSchedule}),
		node("b", map[string]string{"pool": "other"}, corev1.Taint{Key: "gpu", Effect: corev1.TaintEffectNoSchedule}),
	), 0)
	defer e.Stop()
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		NodeSelector: map[string]string{"pool": "ci"},
		Tolerations:  []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "ci", Effect: corev1.TaintEffectNoSchedule}},
	}}
	if diff := cmp.Diff([]string{"node.kubernetes.io/not-ready"}, e.untoleratedTaints(t.Context(), pod)); diff != "" {
		t.Errorf("untolerated taints (-want +got):\n%s", diff)
	}
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists})
	if got := e.untoleratedTaints(t.Context(), pod); got == nil || len(got) != 0 {
		t.Errorf("untolerated taints of a pod that tolerates them all = %#v, want empty and not nil (the nodes were read)", got)
	}
}
