package testrun

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// mountCheckEvery is how often a pod stuck before its containers are created is checked for mount failures.
const mountCheckEvery = 2 * time.Second

// mountWatch finds volumes that cannot be mounted because their Secret or ConfigMap does not exist (config
// files of a test definition). The kubelet reports them only as FailedMount events, never in the pod's status,
// so Classify cannot see them; without this the run would wait for its timeout.
type mountWatch struct {
	client kubernetes.Interface
	ticker *time.Ticker
	last   time.Time
	status string
}

func newMountWatch(client kubernetes.Interface) *mountWatch {
	return &mountWatch{client: client, ticker: time.NewTicker(mountCheckEvery)}
}

// C ticks while the watch runs, so that a pod that changes no more is checked again.
func (m *mountWatch) C() <-chan time.Time { return m.ticker.C }

func (m *mountWatch) stop() { m.ticker.Stop() }

// check returns the outcome of a pod whose volumes cannot be mounted, at most once per mountCheckEvery.
// Reading the same events, it also tells what a pod that is still being set up does (status): pulling
// an image is only ever said in events.
func (m *mountWatch) check(ctx context.Context, pod *corev1.Pod) (o Outcome, failed bool) {
	if !creatingContainers(pod) {
		m.status = ""
		return Outcome{}, false
	}
	if time.Since(m.last) < mountCheckEvery {
		return Outcome{}, false
	}
	m.last = time.Now()
	events, err := m.client.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
		"involvedObject.kind": "Pod", "involvedObject.name": pod.Name,
	}.String()})
	if err != nil {
		return Outcome{}, false // diagnostics only: the timeout still ends the run
	}
	var newest *corev1.Event
	for i := range events.Items {
		e := &events.Items[i]
		if e.InvolvedObject.UID != pod.UID {
			continue
		}
		if newest == nil || eventTime(newest).Before(eventTime(e)) {
			newest = e
		}
		if e.Reason != "FailedMount" || !strings.Contains(e.Message, "not found") {
			continue
		}
		return Outcome{
			Done: true, ExitCode: exitcode.CannotRun, Reason: "FailedMount", Status: "volume cannot be mounted",
			Message: fmt.Sprintf("pod %q cannot start: %s (FailedMount): create the missing Secret or ConfigMap (or key) in namespace %q, or fix the config entries of the test definition",
				pod.Name, e.Message, pod.Namespace),
		}, true
	}
	m.status = ""
	if newest != nil && newest.Reason == "Pulling" {
		m.status = "pulling: " + newest.Message
	}
	return Outcome{}, false
}

// Status is what the pod is doing according to its events ("pulling: Pulling image …"), or "".
func (m *mountWatch) Status() string { return m.status }

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
