package outcome

// The status lookups every layer shares: one home for "has the pod finished", "the status of container X".

import (
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// ContainerStatus returns the status of the named container (or ephemeral container) of pod, or nil if it has
// none yet.
func ContainerStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	if pod == nil {
		return nil
	}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// Terminated returns the terminated state of cs, or nil.
func Terminated(cs *corev1.ContainerStatus) *corev1.ContainerStateTerminated {
	if cs == nil {
		return nil
	}
	return cs.State.Terminated
}

// containerImage returns the image the pod asks for in the named container, as the user wrote it, falling
// back to the one in its status.
func containerImage(pod *corev1.Pod, name string, cs *corev1.ContainerStatus) string {
	if pod != nil {
		for _, c := range pod.Spec.Containers {
			if c.Name == name {
				return c.Image
			}
		}
	}
	if cs != nil {
		return cs.Image
	}
	return ""
}

// memoryLimit returns " of <limit>" for the test container's memory limit, or "" if it has none.
func memoryLimit(pod *corev1.Pod) string {
	if pod == nil {
		return ""
	}
	for _, c := range pod.Spec.Containers {
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && c.Name == runspec.TestContainer {
			return " of " + q.String()
		}
	}
	return ""
}

// PodFinished reports whether all containers of pod have exited.
func PodFinished(pod *corev1.Pod) bool {
	return pod != nil && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed)
}

// PodCondition returns the condition of pod of type t, or nil.
func PodCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	if pod == nil {
		return nil
	}
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// conditionTrue reports whether pod has condition t with status True.
func conditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	c := PodCondition(pod, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// jobCondition returns the earliest true condition of job among types, or nil. The Job controller sets
// FailureTarget (or SuccessCriteriaMet) as soon as it decided, and Failed (or Complete) only after the pods
// are gone: the earliest is when the run was decided.
func jobCondition(job *batchv1.Job, types ...batchv1.JobConditionType) *batchv1.JobCondition {
	if job == nil {
		return nil
	}
	var found *batchv1.JobCondition
	for i := range job.Status.Conditions {
		c := &job.Status.Conditions[i]
		if c.Status != corev1.ConditionTrue || !slices.Contains(types, c.Type) {
			continue
		}
		if found == nil || c.LastTransitionTime.Before(&found.LastTransitionTime) {
			found = c
		}
	}
	return found
}
