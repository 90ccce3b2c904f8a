package testkit

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RunObjects returns job, created at created, and the pod the Job controller makes of it: named after the
// Job, with its template's labels and spec, on node-1, in phase, its containers in the states given by
// container name (a container not named is waiting). Seed a fake clientset with them.
func RunObjects(job *batchv1.Job, created time.Time, phase corev1.PodPhase, states map[string]corev1.ContainerState) (*batchv1.Job, *corev1.Pod) {
	job = job.DeepCopy()
	job.CreationTimestamp = metav1.NewTime(created)
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: job.Name + "-x9z8w", Namespace: job.Namespace, CreationTimestamp: metav1.NewTime(created),
			Labels: job.Spec.Template.Labels,
		},
		Spec:   *job.Spec.Template.Spec.DeepCopy(),
		Status: corev1.PodStatus{Phase: phase},
	}
	pod.Spec.NodeName = "node-1"
	for _, c := range pod.Spec.Containers {
		state, ok := states[c.Name]
		if !ok {
			state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
		}
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, State: state})
	}
	return job, pod
}

// Terminated is the state of a container that started at started and exited with code at finished, with
// the kubelet's reason and the container's termination message.
func Terminated(code int32, reason, message string, started, finished time.Time) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, Reason: reason, Message: message,
		StartedAt: metav1.NewTime(started), FinishedAt: metav1.NewTime(finished),
	}}
}

// Running is the state of a container running since started.
func Running(started time.Time) corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(started)}}
}
