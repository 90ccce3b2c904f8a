package diagnose

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// IndentContinuation makes a multi-line value of a describe field keep the value column: each line after
// the first starts with a tab, which the describe output's tabwriter pads to that column, as kubectl's
// describe lays out its multi-line labels and annotations. A final newline is dropped (the field ends the
// line itself).
func IndentContinuation(value string) string {
	return strings.ReplaceAll(strings.TrimRight(value, "\n"), "\n", "\n\t")
}

// indentedMessages is a client whose pods come back with their containers' messages (a termination message
// is often a test's last lines) made IndentContinuation's way, for kubectl's pod describer: it prints a
// message as it is, and its second line would otherwise start at the left margin and break the alignment
// of every field after it.
type indentedMessages struct{ kubernetes.Interface }

func (c indentedMessages) CoreV1() corev1client.CoreV1Interface {
	return indentedCoreV1{c.Interface.CoreV1()}
}

type indentedCoreV1 struct{ corev1client.CoreV1Interface }

func (c indentedCoreV1) Pods(namespace string) corev1client.PodInterface {
	return indentedPods{c.CoreV1Interface.Pods(namespace)}
}

type indentedPods struct{ corev1client.PodInterface }

func (p indentedPods) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Pod, error) {
	pod, err := p.PodInterface.Get(ctx, name, opts)
	if err != nil || pod == nil {
		return pod, err
	}
	pod = pod.DeepCopy()
	for _, statuses := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for i := range statuses {
			indentState(&statuses[i].State)
			indentState(&statuses[i].LastTerminationState)
		}
	}
	pod.Status.Message = IndentContinuation(pod.Status.Message)
	return pod, nil
}

func indentState(s *corev1.ContainerState) {
	if s.Terminated != nil {
		s.Terminated.Message = IndentContinuation(s.Terminated.Message)
	}
	if s.Waiting != nil {
		s.Waiting.Message = IndentContinuation(s.Waiting.Message)
	}
}
