//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const busybox = "docker.io/library/busybox:1.37"

// The harness gives the project a real node at the pinned version, not a fake.
func TestClusterNodeIsReadyAtThePinnedVersion(t *testing.T) {
	nodes, err := client.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing nodes: %v", err)
	}
	if len(nodes.Items) != 1 {
		t.Fatalf("want exactly one node, got %d", len(nodes.Items))
	}
	node := nodes.Items[0]
	if got := node.Status.NodeInfo.KubeletVersion; got != k8sVersion {
		t.Errorf("kubelet version = %q, want the pinned %q", got, k8sVersion)
	}
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = c.Status == corev1.ConditionTrue
		}
	}
	if !ready {
		t.Errorf("node %q is not Ready: %+v", node.Name, node.Status.Conditions)
	}
	if len(node.Spec.Taints) != 0 {
		t.Errorf("node %q has taints %v: test pods would not schedule", node.Name, node.Spec.Taints)
	}
	server := kubectl(t, "version", "-o", "json")
	var v struct {
		ServerVersion struct{ GitVersion string } `json:"serverVersion"`
	}
	if err := json.Unmarshal([]byte(server), &v); err != nil || v.ServerVersion.GitVersion != k8sVersion {
		t.Errorf("kubectl version reports server %q (err %v), want %q", v.ServerVersion.GitVersion, err, k8sVersion)
	}
}

// A Job with the locally loaded busybox image runs to completion: the scheduler, kubelet, containerd, runc
// and CNI all work, with no registry.
func TestClusterRunsAJobWithALocalImage(t *testing.T) {
	ns := namespace(t)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: ns},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{
					Name: "hello", Image: busybox, Command: []string{"sh", "-c", "echo hello from $(hostname)"},
				}},
			}},
		},
	}
	if _, err := client.BatchV1().Jobs(ns).Create(t.Context(), job, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating job: %v", err)
	}
	waitFor(t, 60*time.Second, "job hello to complete", func(ctx context.Context) (bool, error) {
		j, err := client.BatchV1().Jobs(ns).Get(ctx, "hello", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
				t.Fatalf("job failed: %s: %s", c.Reason, c.Message)
			}
		}
		return j.Status.Succeeded == 1, nil
	})
	logs := kubectl(t, "-n", ns, "logs", "job/hello")
	if !strings.HasPrefix(logs, "hello from hello-") {
		t.Errorf("job logs = %q, want a line starting with %q", logs, "hello from hello-")
	}
}

// The mechanism reports rely on (docs/design.md, "Getting reports out"): an ephemeral container added to a
// running pod mounts the pod's emptyDir and reads, byte for byte, what another container wrote there.
func TestClusterEphemeralContainerReadsTheSharedEmptyDir(t *testing.T) {
	ns := namespace(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "writer", Namespace: ns},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Volumes:       []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			Containers: []corev1.Container{{
				Name: "writer", Image: busybox,
				Command:      []string{"sh", "-c", `printf 'crlf\r\nline\n' > /shared/report.txt; exec sleep 3600`},
				VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}},
			}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod: %v", err)
	}
	waitFor(t, 60*time.Second, "pod writer to run", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, "writer", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	p, err := client.CoreV1().Pods(ns).Get(t.Context(), "writer", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "reader", Image: busybox, Command: []string{"sh", "-c", "od -c /shared/report.txt"},
			VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared", ReadOnly: true}},
		},
	})
	if _, err := client.CoreV1().Pods(ns).UpdateEphemeralContainers(t.Context(), "writer", p, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("adding an ephemeral container: %v", err)
	}
	waitFor(t, 60*time.Second, "the ephemeral container to finish", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, "writer", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, s := range p.Status.EphemeralContainerStatuses {
			if s.Name == "reader" && s.State.Terminated != nil {
				if s.State.Terminated.ExitCode != 0 {
					t.Fatalf("ephemeral container exited %d: %s", s.State.Terminated.ExitCode, s.State.Terminated.Message)
				}
				return true, nil
			}
		}
		return false, nil
	})
	got := kubectl(t, "-n", ns, "logs", "writer", "-c", "reader")
	// od shows the carriage return as \r: the file arrived with it.
	if !strings.Contains(got, `c   r   l   f  \r  \n   l   i   n   e  \n`) {
		t.Errorf("ephemeral container read:\n%s\nwant the bytes of \"crlf\\r\\nline\\n\"", got)
	}
}

// kubectl finds the plugin on PATH and runs it as `kubectl testrun`.
func TestPluginRunsThroughKubectl(t *testing.T) {
	out := kubectl(t, "plugin", "list")
	if !strings.Contains(out, pluginBin) {
		t.Errorf("kubectl plugin list does not show %q:\n%s", pluginBin, out)
	}
	out = kubectl(t, "testrun", "version", "-o", "json")
	var v struct{ Version, Commit, GoVersion string }
	if err := json.NewDecoder(bytes.NewBufferString(out)).Decode(&v); err != nil {
		t.Fatalf("kubectl testrun version -o json printed %q: %v", out, err)
	}
	if !strings.HasPrefix(v.Version, "v") || v.GoVersion == "" {
		t.Errorf("kubectl testrun version -o json = %+v, want a v-prefixed version and the Go version", v)
	}
	help := kubectl(t, "testrun", "--help")
	if !strings.Contains(help, "kubectl testrun [command]") {
		t.Errorf("help does not present the plugin as 'kubectl testrun':\n%s", help)
	}
}
