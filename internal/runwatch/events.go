package runwatch

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

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

// EventWatch adds to Classify what only events tell, for a run whose pod is not running yet:
//   - a pod the Job controller cannot create (a missing ServiceAccount, PodSecurity, a ResourceQuota, a
//     LimitRange, an admission webhook): only the Job's FailedCreate events say so, and without this the
//     run would wait for its timeout and then blame the test;
//   - volumes that cannot be mounted because their Secret or ConfigMap does not exist (config files of a test
//     definition): the kubelet reports them only as FailedMount events, never in the pod's status, so without
//     this the run would wait for its timeout;
//   - the image being pulled, for the status line;
//   - for an unschedulable pod given time (--schedule-timeout), whether an autoscaler adds a node for it, or
//     said it will not, which ends the wait at once.
//
// The events are read at most every eventCheckEvery; the ticker C makes a pod that changes no more be
// looked at again.
type EventWatch struct {
	client kubernetes.Interface
	// scheduleTimeout is how long a pod may stay unschedulable; 0 fails the run as soon as it is.
	scheduleTimeout time.Duration
	ticker          *time.Ticker

	pod                types.UID
	events             []corev1.Event
	jobEvents          []corev1.Event
	jobListed          time.Time
	listed             time.Time
	unschedulableSince time.Time
	silentSince        time.Time
	nodes              []corev1.Node
	nodesRead          bool
	nodesListed        time.Time
}

// NewEventWatch returns an EventWatch that reads events through client; scheduleTimeout is how long a pod
// may stay unschedulable (0: it fails at once). Stop it when the run is over.
func NewEventWatch(client kubernetes.Interface, scheduleTimeout time.Duration) *EventWatch {
	return &EventWatch{client: client, scheduleTimeout: scheduleTimeout, ticker: time.NewTicker(eventCheckEvery)}
}

// C ticks while the watch runs, so that a pod that changes no more is checked again.
func (e *EventWatch) C() <-chan time.Time { return e.ticker.C }

// Stop stops the ticker.
func (e *EventWatch) Stop() { e.ticker.Stop() }

// Refine returns o, Classify's outcome for job and pod, with what their events add.
func (e *EventWatch) Refine(ctx context.Context, job *batchv1.Job, pod *corev1.Pod, o outcome.Outcome) outcome.Outcome {
	if pod == nil {
		return e.jobRefused(ctx, job, o)
	}
	if pod.UID != e.pod {
		*e = EventWatch{client: e.client, scheduleTimeout: e.scheduleTimeout, ticker: e.ticker, pod: pod.UID}
	}
	switch {
	case o.Done && o.Reason == corev1.PodReasonUnschedulable:
		return e.unschedulable(ctx, pod, o)
	case !o.Done && creatingContainers(pod):
		return e.creating(ctx, pod, o)
	case !o.Done && nodeSilent(pod):
		return e.nodeSilent(pod, o)
	}
	e.unschedulableSince, e.silentSince = time.Time{}, time.Time{}
	return o
}

// nodeSilent is true for a pod whose node stopped reporting: the node lifecycle controller marked it not
// Ready while its containers, as last reported by its kubelet, still run (a kubelet never reports that
// itself for a pod without readiness probes, as the plugin's pods are).
func nodeSilent(pod *corev1.Pod) bool {
	c := outcome.PodCondition(pod, corev1.PodReady)
	if pod.Status.Phase != corev1.PodRunning || c == nil || c.Status != corev1.ConditionFalse {
		return false
	}
	test, holder := outcome.ContainerStatus(pod, runspec.TestContainer), outcome.ContainerStatus(pod, runspec.HolderContainer)
	return test != nil && test.State.Running != nil && holder != nil && holder.State.Running != nil
}

// nodeSilent waits TransientWait for the node of pod to report again, then fails the run: its node is lost.
// The test may still run there, but nothing can follow it, and the cluster evicts it only minutes later.
func (e *EventWatch) nodeSilent(pod *corev1.Pod, o outcome.Outcome) outcome.Outcome {
	if e.silentSince.IsZero() {
		e.silentSince = time.Now()
	}
	if time.Since(e.silentSince) < TransientWait {
		o.Status = fmt.Sprintf("node %s does not respond: waiting up to %s for it", pod.Spec.NodeName, TransientWait)
		return o
	}
	return outcome.Outcome{
		Done: true, ExitCode: exitcode.CannotRun, Reason: outcome.ReasonNodeLost, Status: "node lost",
		Message: fmt.Sprintf("the node %s of pod %q stopped responding (its kubelet no longer reports to the cluster) and did not come back within %s: run the test again, and look at the node (kubectl describe node %s)",
			pod.Spec.NodeName, pod.Name, TransientWait, pod.Spec.NodeName),
	}
}

// jobRefused fails a run whose Job exists but has no pod, when the Job controller reported that the API
// server refused to create it. The controller retries, but what refuses a pod (admission) does not change
// by itself within a run: failing at the first refusal names the fix minutes before a timeout would.
func (e *EventWatch) jobRefused(ctx context.Context, job *batchv1.Job, o outcome.Outcome) outcome.Outcome {
	if job == nil || o.Done {
		return o
	}
	if time.Since(e.jobListed) >= eventCheckEvery {
		list, err := e.client.CoreV1().Events(job.Namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.kind": "Job", "involvedObject.name": job.Name,
		}.String()})
		e.jobListed = time.Now()
		if err == nil {
			e.jobEvents = list.Items
		}
	}
	for i := range e.jobEvents {
		ev := &e.jobEvents[i]
		if ev.InvolvedObject.UID != job.UID || ev.Reason != reasonFailedCreate {
			continue
		}
		return outcome.Outcome{
			Done: true, ExitCode: exitcode.CannotRun, Reason: reasonFailedCreate, Status: "pod refused",
			Message: fmt.Sprintf("the pod of run %q cannot be created (FailedCreate): %s: %s",
				job.Name, strings.TrimPrefix(ev.Message, "Error creating: "), refusalHint(ev.Message, job.Namespace)),
		}
	}
	return o
}

// reasonFailedCreate is the Job controller's event reason when the API server refused the pod.
const reasonFailedCreate = "FailedCreate"

// refusalHint says what to do about the refusal msg of a pod in namespace.
func refusalHint(msg, namespace string) string {
	switch {
	case strings.Contains(msg, "serviceaccount") && strings.Contains(msg, "not found"):
		return fmt.Sprintf("create the service account in namespace %q, or fix --service-account", namespace)
	case strings.Contains(msg, "PodSecurity"):
		return fmt.Sprintf("namespace %q enforces a PodSecurity level the pod does not meet: run with --restricted and an image with a numeric non-root user, or use a namespace whose level admits the test", namespace)
	case strings.Contains(msg, "exceeded quota"), strings.Contains(msg, "must specify"):
		return fmt.Sprintf("a ResourceQuota of namespace %q refuses the pod: lower --requests/--limits, wait for other pods to finish, or raise the quota (kubectl describe quota -n %s)", namespace, namespace)
	case strings.Contains(msg, "LimitRange"), strings.Contains(msg, "per Container is"), strings.Contains(msg, "per Pod is"):
		return fmt.Sprintf("a LimitRange of namespace %q refuses the pod: fit --requests/--limits into it (kubectl describe limitrange -n %s)", namespace, namespace)
	case strings.Contains(msg, "admission webhook"):
		return "an admission webhook refused the pod: change the run so that the webhook named above admits it, or ask who runs the webhook"
	}
	return fmt.Sprintf("see kubectl describe job -n %s", namespace)
}

// creating fails a pod whose volumes cannot be mounted, and says when its image is being pulled.
func (e *EventWatch) creating(ctx context.Context, pod *corev1.Pod, o outcome.Outcome) outcome.Outcome {
	var newest *corev1.Event
	for _, ev := range e.read(ctx, pod) {
		if newest == nil || eventTime(newest).Before(eventTime(ev)) {
			newest = ev
		}
		if ev.Reason == "FailedMount" && strings.Contains(ev.Message, "not found") {
			return outcome.Outcome{
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
// A pod kept off its nodes only by what passes by itself (a node not ready or unreachable for a moment,
// under memory, disk or PID pressure) waits at least TransientWait, with the reason in the status line.
func (e *EventWatch) unschedulable(ctx context.Context, pod *corev1.Pod, o outcome.Outcome) outcome.Outcome {
	wait, waitName := e.scheduleTimeout, "--schedule-timeout "+e.scheduleTimeout.String()
	transient := transientTaints(outcome.PodCondition(pod, corev1.PodScheduled).Message, func() []string { return e.untoleratedTaints(ctx, pod) })
	if transient != "" && wait < TransientWait {
		wait, waitName = TransientWait, TransientWait.String()
	}
	if wait <= 0 {
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
	if autoscaler != nil && autoscaler.Reason == reasonNoScaleUp && transient == "" {
		o.Message += fmt.Sprintf("; the cluster autoscaler will not add a node for it (%s: %s)", reasonNoScaleUp, autoscaler.Message)
		return o
	}
	if time.Since(e.unschedulableSince) >= wait {
		o.Message += fmt.Sprintf("; still so after %s", waitName)
		return o
	}
	status := fmt.Sprintf("unschedulable, waiting up to %s for a node", waitName)
	switch {
	case transient != "":
		status = fmt.Sprintf("waiting up to %s for the node to recover (%s)", waitName, transient)
	case autoscaler != nil:
		status = fmt.Sprintf("waiting for the node an autoscaler adds (%s: %s)", autoscaler.Reason, autoscaler.Message)
	}
	return outcome.Outcome{Status: status}
}

// TransientWait is how long a pod kept off its nodes by a passing condition (see transientTaints) waits for
// them to recover before the run fails as unschedulable.
const TransientWait = time.Minute

// passingTaints are the taints the node lifecycle controller puts on a node for a condition that usually
// passes: a node that is starting or briefly lost, or under resource pressure.
// A cordoned node (node.kubernetes.io/unschedulable, "node(s) were unschedulable") counts too: a cordon is
// maintenance, an upgrade or a drain, which ends; the bound keeps a long one from holding the run.
var passingTaints = []string{
	"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable", "node.kubernetes.io/memory-pressure",
	"node.kubernetes.io/disk-pressure", "node.kubernetes.io/pid-pressure", "node.kubernetes.io/network-unavailable",
	"node.kubernetes.io/unschedulable",
}

// cordoned is how the scheduler names nodes whose spec says unschedulable.
const cordoned = "node(s) were unschedulable"

// transientTaints reads the scheduler's message of an unschedulable pod ("0/3 nodes are available: 2 node(s)
// had untolerated taint(s), 1 Insufficient cpu. preemption: …") and returns the passing taints that keep it
// off its nodes, when nothing else does; "" otherwise: a permanent mismatch (a selector, a taint of the
// user's, too few resources) fails at once. Schedulers of v1.36 do not name the taint (older ones wrote
// "{KEY: VALUE}"): untolerated then lists the keys of the taints the pod does not tolerate on the nodes it
// could run on, or nil when the nodes cannot be read (the documented Role has no access to nodes).
func transientTaints(msg string, untolerated func() []string) string {
	_, reasons, ok := strings.Cut(msg, "are available: ")
	if !ok {
		return ""
	}
	// The list of reasons is the first sentence; what follows (". no new claims to deallocate, preemption:
	// …") is not about the nodes.
	reasons, _, _ = strings.Cut(reasons, ". ")
	reasons = strings.TrimSuffix(reasons, ".")
	var found []string
	for item := range strings.SplitSeq(reasons, ", ") {
		var keys []string
		switch {
		case strings.HasSuffix(item, cordoned):
			keys = []string{"node.kubernetes.io/unschedulable"}
		case strings.HasSuffix(item, untoleratedTaints):
			keys = untolerated()
			if keys != nil && len(keys) == 0 {
				// The nodes no longer carry a taint the pod does not tolerate: the scheduler's message is
				// older than their recovery, and its next attempt will place the pod.
				keys = []string{taintRemoved}
			}
		default:
			_, named, _ := strings.Cut(item, "{")
			if key, _, ok := strings.Cut(named, ":"); ok {
				keys = []string{key}
			}
		}
		if len(keys) == 0 {
			return ""
		}
		for _, k := range keys {
			if k != taintRemoved && !slices.Contains(passingTaints, k) {
				return ""
			}
			if !slices.Contains(found, k) {
				found = append(found, k)
			}
		}
	}
	return strings.Join(found, ", ")
}

// taintRemoved names, in the status line, a taint the scheduler saw that the nodes no longer carry.
const taintRemoved = "a taint removed since"

// untoleratedTaints is how schedulers of v1.36 say that taints keep a pod off nodes, without naming them.
const untoleratedTaints = "node(s) had untolerated taint(s)"

// untoleratedTaints returns the keys of the NoSchedule and NoExecute taints that pod does not tolerate on
// the nodes its node selector allows (empty, not nil, when there is none), or nil when the nodes cannot be
// read. The list is read again at most every eventCheckEvery.
func (e *EventWatch) untoleratedTaints(ctx context.Context, pod *corev1.Pod) []string {
	if time.Since(e.nodesListed) >= eventCheckEvery {
		e.nodesListed = time.Now()
		e.nodes, e.nodesRead = nil, false
		list, err := e.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{
			LabelSelector: labels.SelectorFromSet(pod.Spec.NodeSelector).String(),
		})
		if err == nil {
			e.nodes, e.nodesRead = list.Items, true
		}
	}
	if !e.nodesRead {
		return nil
	}
	logger := klog.FromContext(ctx)
	keys := []string{}
	for _, n := range e.nodes {
		for i := range n.Spec.Taints {
			taint := &n.Spec.Taints[i]
			if taint.Effect == corev1.TaintEffectPreferNoSchedule || slices.Contains(keys, taint.Key) {
				continue
			}
			tolerated := slices.ContainsFunc(pod.Spec.Tolerations, func(t corev1.Toleration) bool {
				return t.ToleratesTaint(logger, taint, false)
			})
			if !tolerated {
				keys = append(keys, taint.Key)
			}
		}
	}
	return keys
}

// read returns the events of pod, listed again when the last list is older than eventCheckEvery. A failed
// list keeps the last one: events only ever shorten a wait that the timeouts bound anyway.
func (e *EventWatch) read(ctx context.Context, pod *corev1.Pod) []*corev1.Event {
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
	s := outcome.ContainerStatus(pod, runspec.TestContainer)
	return s == nil || (s.State.Waiting != nil && s.State.Waiting.Reason == "ContainerCreating")
}
