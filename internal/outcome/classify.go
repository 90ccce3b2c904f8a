package outcome

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/upload"
)

// Outcome is the state of a run, decided by Classify from the current Job and pod.
type Outcome struct {
	// Done means nothing more will happen: stop waiting.
	Done bool
	// TestEnded means the test container ran and has terminated, so its reports can be fetched; ExitCode is
	// then its code. It is set as soon as the test container terminated, while the holder may still keep the
	// pod (Done is false until the plugin releases it).
	TestEnded bool
	// ExitCode is the code the plugin exits with, when Done: the test's own code when it ran, otherwise one
	// of exitcode.Timeout, CannotRun, CannotStart or NotFound.
	ExitCode int
	// Reason is one machine word for what happened: the kubelet's or the Job controller's reason when there
	// is one ("Completed", "Error", "OOMKilled", "ErrImagePull", "Unschedulable", "DeadlineExceeded", "Evicted",
	// ...), or "PodDeleted", "PodFailed" or "JobFailed". It is empty while the run is simply in progress.
	Reason string
	// Message is one human sentence: what happened, naming the image, Secret or node message involved, and
	// what to do next. It is empty while the run is simply in progress.
	Message string
	// Status is a short progress text for a status line ("waiting to be scheduled", "running", "test exited
	// with code 3").
	Status string
}

// Interrupted tells the outcome of a run stopped by a signal (or any cancellation of the context).
func (o Outcome) Interrupted() bool { return o.Reason == ReasonInterrupted }

// Reasons of the kubelet and the plugin that Classify looks for or gives.
const (
	reasonCompleted    = "Completed"
	reasonError        = "Error"
	reasonOOMKilled    = "OOMKilled"
	reasonStartError   = "StartError"
	reasonCannotRun    = "ContainerCannotRun"
	reasonInvalidImage = "InvalidImageName"
	reasonNeverPull    = "ErrImageNeverPull"
	reasonConfigError  = "CreateContainerConfigError"
	reasonCreateError  = "CreateContainerError"
	reasonRunError     = "RunContainerError"
	reasonEvicted      = "Evicted"
	ReasonNodeLost     = "NodeLost"
	ReasonDeadline     = "DeadlineExceeded"
	ReasonPodDeleted   = "PodDeleted"
	reasonPodFailed    = "PodFailed"
	reasonJobFailed    = "JobFailed"
	reasonDisrupted    = "Disrupted"
	// reasonAPIUnreachable: the API server did not answer for APIUnreachableBudget.
	ReasonAPIUnreachable = "APIUnreachable"
	// ReasonUploadFailed: the files of --upload did not reach the pod, so the test never started.
	ReasonUploadFailed = "UploadFailed"
	// reasonEvictionAPI and reasonTaintManager are DisruptionTarget reasons: an eviction through the API (a
	// drain), and a deletion by the taint manager, which evicts pods from an unreachable or not-ready node.
	reasonEvictionAPI  = "EvictionByEvictionAPI"
	reasonTaintManager = "DeletionByTaintManager"
)

// pullReasons are the waiting reasons of a container whose image the kubelet cannot get.
var pullReasons = map[string]bool{
	"ErrImagePull":              true,
	"ImagePullBackOff":          true,
	"ImageInspectError":         true,
	"RegistryUnavailable":       true,
	"SignatureValidationFailed": true,
	reasonInvalidImage:          true,
	reasonNeverPull:             true,
}

// Classify decides the state of a run from its Job and its pod alone, so that it gives the same answer
// however many events were seen or missed: call it again on every change. Either may be nil when not known
// yet (or any more).
//
// The test's own exit code wins when the test ended before the cluster stopped the run; a test killed by a
// deadline, an eviction or a deletion ends with 124 or 125 instead of the code of the kill. Problems of the
// holder end the run with 125 and name --helper-image, since they are not the test's.
func Classify(job *batchv1.Job, pod *corev1.Pod) Outcome {
	test, holder := ContainerStatus(pod, runspec.TestContainer), ContainerStatus(pod, runspec.HolderContainer)
	stop := interruptionOf(job, pod)

	if term := Terminated(test); term != nil && stop.endedFirst(term) {
		if term.Reason == reasonStartError || term.Reason == reasonCannotRun {
			return startFailure(pod, term)
		}
		return testResult(job, pod, term, holder, stop)
	}
	if stop != nil {
		return stop.outcome
	}
	if o, ok := containerProblem(pod, test); ok {
		return o
	}
	if o, ok := holderProblem(pod, holder); ok {
		return o
	}
	if err := upload.Problem(pod); err != nil {
		return Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: ReasonUploadFailed, Status: "upload failed", Message: err.Error()}
	}
	if o, ok := Unschedulable(pod); ok {
		return o
	}
	if pod != nil && pod.Status.Phase == corev1.PodFailed {
		return podFailed(pod)
	}
	if c := jobCondition(job, batchv1.JobFailed, batchv1.JobFailureTarget); c != nil {
		return jobFailed(job, c)
	}
	if c := jobCondition(job, batchv1.JobComplete, batchv1.JobSuccessCriteriaMet); c != nil {
		// A complete Job had its pod succeed, and a pod succeeds only when the test exited 0, so the test
		// ended: the pod seen here is gone already, or lags behind the Job (its watch may still be listing
		// again after an API server restart, while the Job's is back).
		return Outcome{Done: true, TestEnded: true, ExitCode: exitcode.OK, Reason: reasonCompleted, Message: "the test passed", Status: "test passed"}
	}
	return progress(pod, test)
}

// interruption is the cluster stopping the run from outside the test: a deadline, an eviction, a deletion.
type interruption struct {
	// at is when it began; zero when the objects do not say, and then any end of the test counts as its doing.
	at time.Time
	// outcome is what the run comes to when the test did not end before.
	outcome Outcome
}

// endedFirst reports whether the test, terminated as term says, ended on its own: before the interruption, if
// any. Times have whole seconds, so a test that ended in the same second counts as interrupted.
func (i *interruption) endedFirst(term *corev1.ContainerStateTerminated) bool {
	return i == nil || (!i.at.IsZero() && term.FinishedAt.Time.Before(i.at))
}

// interruptionOf returns how the cluster stopped the run, or nil if it did not.
func interruptionOf(job *batchv1.Job, pod *corev1.Pod) *interruption {
	if c := jobCondition(job, batchv1.JobFailureTarget, batchv1.JobFailed); c != nil && c.Reason == batchv1.JobReasonDeadlineExceeded {
		return &interruption{at: c.LastTransitionTime.Time, outcome: deadlineExceeded(job, pod)}
	}
	if pod == nil {
		return nil
	}
	if pod.Status.Reason == ReasonDeadline {
		return &interruption{outcome: deadlineExceeded(job, pod)}
	}
	disruption := PodCondition(pod, corev1.DisruptionTarget)
	if disruption != nil && disruption.Status != corev1.ConditionTrue {
		disruption = nil
	}
	if disruption != nil || pod.Status.Reason == reasonEvicted || pod.Status.Reason == ReasonNodeLost {
		i := &interruption{outcome: disrupted(pod, disruption)}
		if disruption != nil {
			i.at = disruption.LastTransitionTime.Time
		}
		return i
	}
	if pod.DeletionTimestamp != nil {
		// The deletion timestamp is when the grace period ends; the deletion was asked for that much earlier.
		at := pod.DeletionTimestamp.Time
		if pod.DeletionGracePeriodSeconds != nil {
			at = at.Add(-time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second)
		}
		return &interruption{at: at, outcome: Outcome{
			Done: true, ExitCode: exitcode.CannotRun, Reason: ReasonPodDeleted, Status: "pod deleted",
			Message: fmt.Sprintf("pod %q was deleted before the test ended: run the test again, and find out who deletes pods in namespace %q (kubectl get events -n %s)",
				pod.Name, pod.Namespace, pod.Namespace),
		}}
	}
	return nil
}

// deadlineExceeded is the outcome of a run stopped by activeDeadlineSeconds.
func deadlineExceeded(job *batchv1.Job, pod *corev1.Pod) Outcome {
	o := Outcome{Done: true, ExitCode: exitcode.Timeout, Reason: ReasonDeadline, Status: "timed out"}
	name, deadline := runName(job, pod), ""
	if job != nil && job.Spec.ActiveDeadlineSeconds != nil {
		deadline = " of " + (time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second).String()
	}
	o.Message = fmt.Sprintf("run %q was stopped by the cluster at its deadline%s, before the test ended: raise --timeout if the test needs more time", name, deadline)
	return o
}

// disrupted is the outcome of a pod the cluster evicted, preempted or lost with its node.
func disrupted(pod *corev1.Pod, c *corev1.PodCondition) Outcome {
	o := Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: pod.Status.Reason}
	msg := pod.Status.Message
	if c != nil {
		if o.Reason == "" {
			o.Reason = c.Reason
		}
		if msg == "" {
			msg = c.Message
		}
	}
	if o.Reason == "" {
		o.Reason = reasonDisrupted
	}
	switch o.Reason {
	case reasonEvicted, corev1.PodReasonTerminationByKubelet:
		o.Status = "evicted"
		o.Message = fmt.Sprintf("pod %q was evicted from its node before the test ended%s: run the test again, requesting the memory and storage it uses (--requests) so it lands on a node with room",
			pod.Name, detail(msg))
	case reasonEvictionAPI:
		o.Status = "evicted"
		o.Message = fmt.Sprintf("pod %q was evicted through the Eviction API before the test ended (a node drain, or a descheduler)%s: run the test again; keep nodes from being drained during test runs, or give the run a PodDisruptionBudget",
			pod.Name, detail(msg))
	case ReasonNodeLost, reasonTaintManager:
		o.Status = "node lost"
		o.Message = fmt.Sprintf("the node of pod %q was lost before the test ended (it stopped reporting to the cluster)%s: run the test again, and look at the node (kubectl describe node %s)",
			pod.Name, detail(msg), pod.Spec.NodeName)
	default:
		o.Status = "stopped by the cluster"
		o.Message = fmt.Sprintf("pod %q was stopped by the cluster before the test ended (%s)%s: run the test again", pod.Name, o.Reason, detail(msg))
	}
	return o
}

// testResult is the outcome of a test that ran and ended on its own. It is Done once the pod finished (the
// plugin released the holder, or the hold ran out) or nothing else can happen to it.
func testResult(job *batchv1.Job, pod *corev1.Pod, term *corev1.ContainerStateTerminated, holder *corev1.ContainerStatus, stop *interruption) Outcome {
	code := int(term.ExitCode)
	o := Outcome{TestEnded: true, ExitCode: code, Reason: term.Reason, Status: fmt.Sprintf("test exited with code %d", code)}
	if o.Reason == "" {
		o.Reason = reasonError
		if code == 0 {
			o.Reason = reasonCompleted
		}
	}
	switch {
	case term.Reason == reasonOOMKilled:
		o.Message = fmt.Sprintf("the test was killed because it exceeded its memory limit%s (OOMKilled, exit code %d): raise it with --limits memory=..., or make the test use less",
			memoryLimit(pod), code)
	case code == 0:
		o.Message = "the test passed"
	default:
		o.Message = fmt.Sprintf("the test failed with exit code %d", code)
	}
	o.Done = stop != nil || PodFinished(pod) || jobCondition(job, batchv1.JobComplete, batchv1.JobFailed) != nil
	if p, ok := holderProblem(pod, holder); ok {
		// The holder will never run, so nothing will release the pod: stop waiting for it.
		o.Done = true
		o.Message += "; but " + p.Message
	}
	return o
}

// startFailure is the outcome of a test container the runtime could not start: its command is missing or
// not executable. The runtime reports it as a terminated container with exit code 128.
func startFailure(pod *corev1.Pod, term *corev1.ContainerStateTerminated) Outcome {
	o := Outcome{Done: true, ExitCode: exitcode.CannotStart, Reason: term.Reason, Status: "command cannot be started"}
	msg := execError(term.Message)
	switch {
	case strings.Contains(msg, "no such file or directory"), strings.Contains(msg, "executable file not found"):
		o.ExitCode, o.Status = exitcode.NotFound, "command not found"
	}
	o.Message = fmt.Sprintf("the test command cannot be started in image %q (%s)%s: check that the command after -- exists in the image and is executable",
		containerImage(pod, runspec.TestContainer, nil), term.Reason, detail(msg))
	return o
}

// execError returns the part of a runtime's start error that a user can act on, from `exec:` on, without the
// layers of containerd and runc around it; the whole message if it has no such part.
func execError(msg string) string {
	i := strings.Index(msg, "exec: ")
	if i < 0 {
		return msg
	}
	return strings.TrimSuffix(msg[i:], ": unknown")
}

// containerProblem returns the outcome of a test container the kubelet cannot create or start.
func containerProblem(pod *corev1.Pod, cs *corev1.ContainerStatus) (Outcome, bool) {
	if cs == nil || cs.State.Waiting == nil {
		return Outcome{}, false
	}
	reason, msg := cs.State.Waiting.Reason, cs.State.Waiting.Message
	image := containerImage(pod, cs.Name, cs)
	o := Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: reason}
	switch {
	case reason == reasonInvalidImage:
		o.Status = "invalid image"
		o.Message = fmt.Sprintf("image %q is not a valid image reference (%s)%s: fix --image", image, reason, detail(msg))
	case reason == reasonNeverPull:
		o.Status = "image not on the node"
		o.Message = fmt.Sprintf("image %q is not on the node and its pull policy is Never (%s)%s: load the image onto the node, or pass another --image-pull-policy",
			image, reason, detail(msg))
	case pullReasons[reason]:
		o.Status = "image cannot be pulled"
		o.Message = fmt.Sprintf("image %q cannot be pulled (%s)%s: check the image name and tag, the image pull secret of the service account, and --image-pull-policy",
			image, reason, detail(msg))
	case reason == reasonConfigError:
		o.Status = "container cannot be configured"
		hint := fmt.Sprintf("create the missing Secret or ConfigMap (or key) in namespace %q, or fix --env and --env-from", pod.Namespace)
		if strings.Contains(msg, "runAsNonRoot") {
			hint = "the pod must run as a non-root user here: use an image whose USER is a numeric uid other than 0"
		}
		o.Message = fmt.Sprintf("the test container cannot be configured (%s)%s: %s", reason, detail(msg), hint)
	case reason == reasonCreateError || reason == reasonRunError:
		o.ExitCode, o.Status = exitcode.CannotStart, "container cannot be created"
		o.Message = fmt.Sprintf("the test container cannot be created from image %q (%s)%s: check the image and the pod with kubectl describe pod %s -n %s",
			image, reason, detail(msg), pod.Name, pod.Namespace)
	default:
		return Outcome{}, false
	}
	return o, true
}

// holderProblem returns the outcome of a holder that cannot run. It is never the test's fault, so it always
// ends the run with 125 and points at --helper-image.
func holderProblem(pod *corev1.Pod, cs *corev1.ContainerStatus) (Outcome, bool) {
	if cs == nil {
		return Outcome{}, false
	}
	var reason, msg string
	switch {
	case cs.State.Waiting != nil:
		reason, msg = cs.State.Waiting.Reason, cs.State.Waiting.Message
		if !pullReasons[reason] && reason != reasonConfigError && reason != reasonCreateError && reason != reasonRunError {
			return Outcome{}, false
		}
	case cs.State.Terminated != nil && (cs.State.Terminated.Reason == reasonStartError || cs.State.Terminated.Reason == reasonCannotRun):
		reason, msg = cs.State.Terminated.Reason, execError(cs.State.Terminated.Message)
	default:
		return Outcome{}, false
	}
	image := containerImage(pod, cs.Name, cs)
	o := Outcome{Done: true, ExitCode: exitcode.CannotRun, Reason: reason, Status: "helper container cannot start"}
	if pullReasons[reason] {
		o.Message = fmt.Sprintf("helper image %q cannot be pulled (%s)%s: make it pullable from the cluster, or pass another busybox-like image (sh, sleep and touch; with --reports also date, tar, find and sha256sum) with --helper-image",
			image, reason, detail(msg))
	} else {
		o.Message = fmt.Sprintf("the helper container cannot start from image %q (%s)%s: pass a busybox-like image (sh, sleep and touch) with --helper-image",
			image, reason, detail(msg))
	}
	return o, true
}

// Unschedulable returns the outcome of a pod the scheduler found no node for.
func Unschedulable(pod *corev1.Pod) (Outcome, bool) {
	c := PodCondition(pod, corev1.PodScheduled)
	if c == nil || c.Status != corev1.ConditionFalse || c.Reason != corev1.PodReasonUnschedulable {
		return Outcome{}, false
	}
	return Outcome{
		Done: true, ExitCode: exitcode.CannotRun, Reason: corev1.PodReasonUnschedulable, Status: "cannot be scheduled",
		Message: fmt.Sprintf("pod %q cannot be scheduled (Unschedulable)%s: check --node-selector, --toleration and the resources the test requests (--requests), or make room in the cluster",
			pod.Name, detail(c.Message)),
	}, true
}

// podFailed is the outcome of a pod that failed without the test ending, e.g. rejected by the kubelet at
// admission (OutOfcpu, NodeAffinity).
func podFailed(pod *corev1.Pod) Outcome {
	reason := pod.Status.Reason
	if reason == "" {
		reason = reasonPodFailed
	}
	return Outcome{
		Done: true, ExitCode: exitcode.CannotRun, Reason: reason, Status: "pod failed",
		Message: fmt.Sprintf("pod %q failed before the test ended (%s)%s: see kubectl describe pod %s -n %s",
			pod.Name, reason, detail(pod.Status.Message), pod.Name, pod.Namespace),
	}
}

// jobFailed is the outcome of a Job that failed with no test exit code to tell why.
func jobFailed(job *batchv1.Job, c *batchv1.JobCondition) Outcome {
	return Outcome{
		Done: true, ExitCode: exitcode.CannotRun, Reason: reasonJobFailed, Status: "job failed",
		Message: fmt.Sprintf("job %q failed (%s)%s: see kubectl describe job %s -n %s",
			job.Name, c.Reason, detail(c.Message), job.Name, job.Namespace),
	}
}

// progress says what a run that is neither done nor ended is waiting for.
func progress(pod *corev1.Pod, test *corev1.ContainerStatus) Outcome {
	switch {
	case pod == nil:
		return Outcome{Status: "waiting for the pod"}
	case pod.Status.Phase == corev1.PodUnknown:
		return Outcome{Status: "waiting for the node to report"}
	case pod.Spec.NodeName == "" && !conditionTrue(pod, corev1.PodScheduled):
		return Outcome{Status: "waiting to be scheduled"}
	case test != nil && test.State.Running != nil:
		return Outcome{Status: "running"}
	case upload.Ready(pod):
		return Outcome{Status: "uploading files (--upload)"}
	case test != nil && test.State.Waiting != nil && strings.HasPrefix(test.State.Waiting.Reason, "Pulling"):
		// The kubelet of v1.36 never sets such a reason (a pull shows only as a "Pulling" event, and the
		// container waits as ContainerCreating meanwhile); this keeps a status that does name it readable.
		return Outcome{Status: fmt.Sprintf("pulling image %q", containerImage(pod, runspec.TestContainer, test))}
	default:
		return Outcome{Status: "starting"}
	}
}

// runName returns the name of the run from the Job, or from the pod's run label.
func runName(job *batchv1.Job, pod *corev1.Pod) string {
	if job != nil {
		return job.Name
	}
	if pod != nil {
		return pod.Labels[runspec.LabelRun]
	}
	return ""
}

// detail returns ": msg" to append a status message to a sentence, or "" when there is none. A final period
// goes, since the sentence goes on.
func detail(msg string) string {
	msg = strings.TrimRight(strings.TrimSpace(msg), ".")
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// ReasonInterrupted is the Outcome reason of a run stopped by a signal.
const ReasonInterrupted = "Interrupted"
