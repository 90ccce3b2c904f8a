package testrun

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// eventCheckEvery is how often the events of a pod that waits for a node or for its containers are read.
const eventCheckEvery = 2 * time.Second

// Reasons of the events that autoscalers post on a pod waiting for a node.
const (
	// reasonScaleUp: cluster-autoscaler is adding a node for the pod.
	reasonScaleUp = "TriggeredScaleUp"
	// reasonNoScaleUp: cluster-autoscaler found no node group that could take the pod.
	reasonNoScaleUp = "NotTriggerScaleUp"
	// reasonNominated: Karpenter is launching a node for the pod.
	reasonNominated = "Nominated"
)

// eventWatch adds to Classify what only a pod's events tell, for a pod that is not running yet:
//   - volumes that cannot be mounted because their Secret or ConfigMap does not exist (config files of a test
//     definition): the kubelet reports them only as FailedMount events, never in the pod's status, so without
//     this the run would wait for its timeout;
//   - the image being pulled, for the status line;
//   - for an unschedulable pod given time (--schedule-timeout), whether an autoscaler adds a node for it, or
//     said it will not, which ends the wait at once.
//
// The events are read at most every eventCheckEvery; the ticker C makes a pod that changes no more be
// looked at again.
type eventWatch struct {
	client kubernetes.Interface
	// scheduleTimeout is how long a pod may stay unschedulable; 0 fails the run as soon as it is.
	scheduleTimeout time.Duration
	ticker          *time.Ticker

	pod                types.UID
	events             []corev1.Event
	listed             time.Time
	unschedulableSince time.Time
}

func newEventWatch(client kubernetes.Interface, scheduleTimeout time.Duration) *eventWatch {
	return &eventWatch{client: client, scheduleTimeout: scheduleTimeout, ticker: time.NewTicker(eventCheckEvery)}
}

// C ticks while the watch runs, so that a pod that changes no more is checked again.
func (e *eventWatch) C() <-chan time.Time { return e.ticker.C }

func (e *eventWatch) stop() { e.ticker.Stop() }

// refine returns o, Classify's outcome for pod, with what the pod's events add.
func (e *eventWatch) refine(ctx context.Context, pod *corev1.Pod, o Outcome) Outcome {
	if pod == nil {
		return o
	}
	if pod.UID != e.pod {
		*e = eventWatch{client: e.client, scheduleTimeout: e.scheduleTimeout, ticker: e.ticker, pod: pod.UID}
	}
	switch {
	case o.Done && o.Reason == corev1.PodReasonUnschedulable:
		return e.unschedulable(ctx, pod, o)
	case !o.Done && creatingContainers(pod):
		return e.creating(ctx, pod, o)
	}
	e.unschedulableSince = time.Time{}
	return o
}

// creating fails a pod whose volumes cannot be mounted, and says when its image is being pulled.
func (e *eventWatch) creating(ctx context.Context, pod *corev1.Pod, o Outcome) Outcome {
	var newest *corev1.Event
	for _, ev := range e.read(ctx, pod) {
		if newest == nil || eventTime(newest).Before(eventTime(ev)) {
			newest = ev
		}
		if ev.Reason == "FailedMount" && strings.Contains(ev.Message, "not found") {
			return Outcome{
				Done: true, ExitCode: exitcode.CannotRun, Reason: "FailedMount", Status: "volume cannot be mounted",
				Message: fmt.Sprintf("pod %q cannot start: %s (FailedMount): create the missing Secret or ConfigMap (or key) in namespace %q, or fix the config entries of the test definition",
					pod.Name, ev.Message, pod.Namespace),
			}
		}
	}
	if newest != nil && newest.Reason == "Pulling" {
		o.Status = "pulling: " + newest.Message
	}
	return o
}

// unschedulable keeps waiting for a node within scheduleTimeout, unless an autoscaler said it will not add one.
func (e *eventWatch) unschedulable(ctx context.Context, pod *corev1.Pod, o Outcome) Outcome {
	if e.scheduleTimeout <= 0 {
		return o
	}
	if e.unschedulableSince.IsZero() {
		e.unschedulableSince = time.Now()
	}
	var autoscaler *corev1.Event
	for _, ev := range e.read(ctx, pod) {
		switch ev.Reason {
		case reasonScaleUp, reasonNoScaleUp, reasonNominated:
			if autoscaler == nil || eventTime(autoscaler).Before(eventTime(ev)) {
				autoscaler = ev
			}
		}
	}
	if autoscaler != nil && autoscaler.Reason == reasonNoScaleUp {
		o.Message += fmt.Sprintf("; the cluster autoscaler will not add a node for it (%s: %s)", reasonNoScaleUp, autoscaler.Message)
		return o
	}
	if time.Since(e.unschedulableSince) >= e.scheduleTimeout {
		o.Message += fmt.Sprintf("; still so after --schedule-timeout %s", e.scheduleTimeout)
		return o
	}
	status := fmt.Sprintf("unschedulable, waiting up to --schedule-timeout %s for a node", e.scheduleTimeout)
	if autoscaler != nil {
		status = fmt.Sprintf("waiting for the node an autoscaler adds (%s: %s)", autoscaler.Reason, autoscaler.Message)
	}
	return Outcome{Status: status}
}

// read returns the events of pod, listed again when the last list is older than eventCheckEvery. A failed
// list keeps the last one: events only ever shorten a wait that the timeouts bound anyway.
func (e *eventWatch) read(ctx context.Context, pod *corev1.Pod) []*corev1.Event {
	if time.Since(e.listed) >= eventCheckEvery {
		list, err := e.client.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.kind": "Pod", "involvedObject.name": pod.Name,
		}.String()})
		e.listed = time.Now()
		if err == nil {
			e.events = list.Items
		}
	}
	var mine []*corev1.Event
	for i := range e.events {
		// A pod of the same name from an earlier run has its own events.
		if e.events[i].InvolvedObject.UID == pod.UID {
			mine = append(mine, &e.events[i])
		}
	}
	return mine
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// creatingContainers is true for a scheduled pod whose test container has not been created yet.
func creatingContainers(pod *corev1.Pod) bool {
	if pod == nil || pod.Spec.NodeName == "" || pod.Status.Phase != corev1.PodPending {
		return false
	}
	s := containerStatus(pod, TestContainer)
	return s == nil || (s.State.Waiting != nil && s.State.Waiting.Reason == "ContainerCreating")
}
