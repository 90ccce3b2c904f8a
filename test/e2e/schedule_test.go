//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Clusters that add nodes on demand: with --schedule-timeout an unschedulable pod is waited for, the
// autoscaler's word (the TriggeredScaleUp and NotTriggerScaleUp events cluster-autoscaler posts on the pod)
// shows in the status or ends the wait, and the timeout ends it otherwise. The real scheduler makes the pod
// unschedulable; the test posts the autoscaler's events and, for the scale-up, gives the node the label the
// pod needs, which is what a new node brings.

// 1. A scale-up is waited for, and the run passes once the pod has a node.
func TestScheduleTimeoutWaitsForTheNodeAnAutoscalerAdds(t *testing.T) {
	ns := namespace(t)
	bg := background(t, "run", "scaled", "-n", ns, "--image", testee, "--node-selector", "e2e-"+ns+"=yes",
		"--schedule-timeout", "3m", "--env", "TESTEE_PRINT=ran on the new node")
	pod := unschedulablePod(t, ns)
	time.Sleep(3 * time.Second) // without --schedule-timeout the run would have failed by now
	if r, ended := bg.result(); ended {
		t.Fatalf("the run ended while its pod waited for a node within --schedule-timeout: %s", r)
	}
	autoscalerEvent(t, pod, "TriggeredScaleUp", "pod triggered scale-up: [{e2e-pool 1->2 (max: 3)}]")
	bg.waitStderr(t, "waiting for the node an autoscaler adds (TriggeredScaleUp: pod triggered scale-up: [{e2e-pool 1->2 (max: 3)}])")
	labelNode(t, "e2e-"+ns)
	r := bg.wait(t, 2*time.Minute)
	wantCode(t, r, 0)
	if r.stdout != "ran on the new node\n" {
		t.Errorf("stdout = %q, want the test's line", r.stdout)
	}
	assertNothingLeft(t, ns)
}

// 2. An autoscaler that says it will not add a node ends the wait at once, with its reason.
func TestScheduleTimeoutEndsWhenTheAutoscalerWillNotHelp(t *testing.T) {
	ns := namespace(t)
	bg := background(t, "run", "refused", "-n", ns, "--image", testee, "--node-selector", "e2e-"+ns+"=yes", "--schedule-timeout", "10m")
	pod := unschedulablePod(t, ns)
	posted := time.Now()
	autoscalerEvent(t, pod, "NotTriggerScaleUp", "pod didn't trigger scale-up: 1 node(s) didn't match Pod's node affinity/selector")
	r := bg.wait(t, time.Minute)
	wantCode(t, r, 125)
	if took := time.Since(posted); took > 20*time.Second {
		t.Errorf("took %s after the autoscaler's NotTriggerScaleUp to fail, want under 20s", took)
	}
	wantStderr(t, r, "cannot be scheduled (Unschedulable)", "the cluster autoscaler will not add a node for it (NotTriggerScaleUp: pod didn't trigger scale-up")
	assertNothingLeft(t, ns)
}

// 3. When --schedule-timeout passes, wait (like run) fails with the scheduler's reason; the run goes on.
func TestScheduleTimeoutPassesInWait(t *testing.T) {
	ns := namespace(t)
	run := lastLine(testrun(t, "run", "stuck", "-n", ns, "--detach", "--image", testee, "--node-selector", "e2e-"+ns+"=yes").stdout)
	r := testrun(t, "wait", run, "-n", ns, "--schedule-timeout", "4s", "--timeout", "2m")
	wantCode(t, r, 125)
	if r.took < 4*time.Second {
		t.Errorf("wait failed after %s, before --schedule-timeout 4s passed: %s", r.took, r)
	}
	wantStderr(t, r, "unschedulable, waiting up to --schedule-timeout 4s for a node", "didn't match Pod's node affinity/selector", "still so after --schedule-timeout 4s")
	wantCode(t, testrun(t, "delete", run, "-n", ns), 0)
}

// unschedulablePod waits for the only pod in ns to be marked unschedulable by the scheduler.
func unschedulablePod(t *testing.T, ns string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	waitFor(t, time.Minute, "the scheduler to mark the pod in "+ns+" Unschedulable", func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: managedBy})
		if err != nil || len(pods.Items) != 1 {
			return false, err
		}
		for _, c := range pods.Items[0].Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonUnschedulable {
				pod = &pods.Items[0]
				return true, nil
			}
		}
		return false, nil
	})
	return pod
}

// autoscalerEvent posts on pod the event cluster-autoscaler posts when it decides about it.
func autoscalerEvent(t *testing.T, pod *corev1.Pod, reason, message string) {
	t.Helper()
	now := metav1.Now()
	_, err := client.CoreV1().Events(pod.Namespace).Create(t.Context(), &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: pod.Name + ".", Namespace: pod.Namespace},
		InvolvedObject: corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name,
			UID: pod.UID, ResourceVersion: pod.ResourceVersion},
		Reason: reason, Message: message, Type: corev1.EventTypeNormal, Count: 1,
		Source:         corev1.EventSource{Component: "cluster-autoscaler"},
		FirstTimestamp: now, LastTimestamp: now,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("posting the autoscaler's %s event: %v", reason, err)
	}
}

// backgroundRun is the plugin running while the test acts on the cluster.
type backgroundRun struct {
	mu             sync.Mutex
	stdout, stderr bytes.Buffer
	started        time.Time
	done           chan struct{}
	res            result
}

// lockedWriter serializes writes to a buffer that the test reads while the command runs.
type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}

// background starts the plugin with args; the test ends it if it is still running.
func background(t *testing.T, args ...string) *backgroundRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	bg := &backgroundRun{done: make(chan struct{}), started: time.Now()}
	cmd := command(ctx, pluginBin, args...)
	cmd.Stdout = lockedWriter{&bg.mu, &bg.stdout}
	cmd.Stderr = lockedWriter{&bg.mu, &bg.stderr}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", cmd, err)
	}
	go func() {
		err := cmd.Wait()
		bg.mu.Lock()
		bg.res = result{stdout: bg.stdout.String(), stderr: bg.stderr.String(), took: time.Since(bg.started), code: -1}
		var exit *exec.ExitError
		if err == nil || errors.As(err, &exit) {
			bg.res.code = cmd.ProcessState.ExitCode()
		}
		bg.mu.Unlock()
		close(bg.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-bg.done
	})
	return bg
}

// result returns the result and true once the command ended.
func (bg *backgroundRun) result() (result, bool) {
	select {
	case <-bg.done:
		bg.mu.Lock()
		defer bg.mu.Unlock()
		return bg.res, true
	default:
		return result{}, false
	}
}

// wait waits up to timeout for the command to end.
func (bg *backgroundRun) wait(t *testing.T, timeout time.Duration) result {
	t.Helper()
	select {
	case <-bg.done:
		r, _ := bg.result()
		return r
	case <-time.After(timeout):
		bg.mu.Lock()
		defer bg.mu.Unlock()
		t.Fatalf("the command did not end within %s; stderr so far:\n%s", timeout, bg.stderr.String())
		return result{}
	}
}

// waitStderr waits for the command to print want on stderr.
func (bg *backgroundRun) waitStderr(t *testing.T, want string) {
	t.Helper()
	waitFor(t, time.Minute, "stderr to show "+want, func(context.Context) (bool, error) {
		if r, ended := bg.result(); ended {
			return false, fmt.Errorf("the command ended: %s", r)
		}
		bg.mu.Lock()
		defer bg.mu.Unlock()
		return strings.Contains(bg.stderr.String(), want), nil
	})
}

// A tainted node takes the test pod only with --toleration; without it the run fails fast with the taint.
func TestTolerationLetsTheTestRunOnATaintedNode(t *testing.T) {
	ns := namespace(t)
	key := "e2e-" + ns
	node := strings.TrimSpace(kubectl(t, "get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"))
	kubectl(t, "taint", "node", node, key+"=yes:NoSchedule")
	t.Cleanup(func() {
		r := run(t, command(context.WithoutCancel(t.Context()), kubectlBin, "taint", "node", node, key+"-"))
		if r.code != 0 {
			t.Errorf("removing the taint %s from node %s: %s", key, node, r)
		}
	})
	r := testrun(t, "run", "tainted", "-n", ns, "--image", testee)
	wantCode(t, r, 125)
	wantStderr(t, r, "cannot be scheduled (Unschedulable)", "untolerated taint", "check --node-selector, --toleration")
	r = testrun(t, "run", "tolerant", "-n", ns, "--image", testee, "--toleration", key+"=yes:NoSchedule", "--env", "TESTEE_PRINT=tolerated")
	wantCode(t, r, 0)
	if r.stdout != "tolerated\n" {
		t.Errorf("stdout = %q, want the test's line", r.stdout)
	}
	assertNothingLeft(t, ns)
}
