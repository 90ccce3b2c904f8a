package testrun

import (
	"context"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/describe"
	"k8s.io/utils/ptr"
)

// dumpLogLines is how much of each container's log the system-under-test dump shows.
const dumpLogLines = 50

// Diagnosis gathers what a person needs to understand a failed run without running anything again.
type Diagnosis struct {
	Client kubernetes.Interface
	// DumpSelector, when set, adds describe and log tails of the pods it selects (the system under test).
	DumpSelector string
}

// Write writes the describe output of the Job and its pod (with their events, sorted by time, and the
// containers' termination reasons and messages), then the system-under-test dump. Problems reading any part
// are written in its place: a diagnosis never hides the failure it explains.
func (d Diagnosis) Write(ctx context.Context, w io.Writer, namespace, job string, pod *corev1.Pod) {
	settings := describe.DescriberSettings{ShowEvents: true, ChunkSize: 500}
	section(w, "describe job "+job, func() (string, error) {
		return (&describe.JobDescriber{Interface: d.Client}).Describe(namespace, job, settings)
	})
	if pod != nil {
		section(w, "describe pod "+pod.Name, func() (string, error) {
			return (&describe.PodDescriber{Interface: d.Client}).Describe(namespace, pod.Name, settings)
		})
	}
	if d.DumpSelector == "" {
		return
	}
	pods, err := d.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: d.DumpSelector})
	if err != nil {
		fmt.Fprintf(w, "--- pods matching %q: %v\n", d.DumpSelector, err)
		return
	}
	if len(pods.Items) == 0 {
		fmt.Fprintf(w, "--- no pod in namespace %q matches --dump-selector %q\n", namespace, d.DumpSelector)
	}
	for _, p := range pods.Items {
		section(w, "describe pod "+p.Name+" (--dump-selector)", func() (string, error) {
			return (&describe.PodDescriber{Interface: d.Client}).Describe(namespace, p.Name, settings)
		})
		for _, c := range p.Spec.Containers {
			section(w, fmt.Sprintf("last %d lines of pod %s container %s", dumpLogLines, p.Name, c.Name), func() (string, error) {
				b, err := d.Client.CoreV1().Pods(namespace).GetLogs(p.Name, &corev1.PodLogOptions{
					Container: c.Name, TailLines: ptr.To[int64](dumpLogLines),
				}).DoRaw(ctx)
				return string(b), err
			})
		}
	}
}

func section(w io.Writer, title string, body func() (string, error)) {
	fmt.Fprintf(w, "--- %s\n", title)
	text, err := body()
	if err != nil {
		fmt.Fprintf(w, "(could not get it: %v)\n", err)
		return
	}
	fmt.Fprint(w, text)
	if !strings.HasSuffix(text, "\n") {
		fmt.Fprintln(w)
	}
}
