package logs

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
)

const ns = "ci"

// run returns the Job of a run as the plugin builds it, with labels, and its pod, whose test container
// ended and whose holder still holds.
func run(name string, labels map[string]string) []runtime.Object {
	job := runspec.BuildJob(runspec.Spec{Name: name, Namespace: ns, Image: "tests:1", Labels: labels})
	now := metav1.Now()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-abcde", Namespace: ns, Labels: job.Spec.Template.Labels},
		Spec:       *job.Spec.Template.Spec.DeepCopy(),
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: runspec.TestContainer, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, StartedAt: now, FinishedAt: now}}},
			{Name: runspec.HolderContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}},
		}},
	}
	return []runtime.Object{job, pod}
}

// fetched returns run name whose reports are being fetched by the ephemeral container named container.
func fetched(name, container string) []runtime.Object {
	objs := run(name, nil)
	pod := objs[1].(*corev1.Pod)
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: container, Image: runspec.DefaultHelperImage}}}
	pod.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: container, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
	return objs
}

// stamp is the time the kubelet received every line the fake serves.
const stamp = "2026-11-26T10:00:00.500000000Z"

// newClient returns a fake clientset holding objs whose log requests are answered with one line naming the
// container ("hello from test"), stamped with stamp, and recorded in requests as "container since=N".
func newClient(objs []runtime.Object, requests *[]string) *fake.Clientset {
	client := fake.NewClientset(objs...)
	var mu sync.Mutex
	client.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		o := a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		since := "-"
		if o.SinceSeconds != nil {
			since = strconv.FormatInt(*o.SinceSeconds, 10)
		}
		mu.Lock()
		*requests = append(*requests, o.Container+" since="+since)
		mu.Unlock()
		return true, &runtime.Unknown{Raw: []byte(stamp + " hello from " + o.Container + "\n")}, nil
	})
	return client
}

// execute runs `logs ARGS` in-process against client and returns what it printed and its exit code.
func execute(t *testing.T, client *fake.Clientset, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewCmdLogs(cmdkit.NewFakeFactory(client, ns), streams)
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), exitcode.Code(t.Context(), err), err
}

// lines returns the lines of s, sorted: the logs of several containers are read at the same time.
func lines(s string) []string {
	return slices.Sorted(slices.Values(strings.SplitAfter(s, "\n")))
}

func TestLogsShowsTheTestContainersOfTheRuns(t *testing.T) {
	objs := append(run("api-1", map[string]string{"suite": "api"}), run("api-2", map[string]string{"suite": "api"})...)
	objs = append(objs, run("ui-1", map[string]string{"suite": "ui"})...)
	tests := []struct {
		name         string
		args         []string
		wantOut      []string
		wantRequests []string
	}{{
		name:         "one run",
		args:         []string{"ui-1"},
		wantOut:      []string{"", "hello from test\n"},
		wantRequests: []string{"test since=-"},
	}, {
		name:         "run/NAME, followed to its end, from 5m back",
		args:         []string{"run/ui-1", "-f", "--since", "5m"},
		wantOut:      []string{"", "hello from test\n"},
		wantRequests: []string{"test since=300"},
	}, {
		name:         "the runs a selector matches, prefixed, with timestamps",
		args:         []string{"-l", "suite=api", "--timestamps"},
		wantOut:      []string{"", "[api-1-abcde/test] " + stamp + " hello from test\n", "[api-2-abcde/test] " + stamp + " hello from test\n"},
		wantRequests: []string{"test since=-", "test since=-"},
	}, {
		name:         "every container of one run, prefixed",
		args:         []string{"ui-1", "--all-containers"},
		wantOut:      []string{"", "[ui-1-abcde/holder] hello from holder\n", "[ui-1-abcde/test] hello from test\n"},
		wantRequests: []string{"holder since=-", "test since=-"},
	}, {
		name:         "the holder's log",
		args:         []string{"ui-1", "-c", "holder"},
		wantOut:      []string{"", "hello from holder\n"},
		wantRequests: []string{"holder since=-"},
	}, {
		name:         "one log, prefixed with --prefix",
		args:         []string{"ui-1", "--prefix"},
		wantOut:      []string{"", "[ui-1-abcde/test] hello from test\n"},
		wantRequests: []string{"test since=-"},
	}, {
		name:         "the fetch containers, prefixed",
		args:         []string{"fetched-1", "-c", "fetch"},
		wantOut:      []string{"", "[fetched-1-abcde/" + fetch.ContainerPrefix + "a] hello from " + fetch.ContainerPrefix + "a\n"},
		wantRequests: []string{fetch.ContainerPrefix + "a since=-"},
	}}
	objs = append(objs, fetched("fetched-1", fetch.ContainerPrefix+"a")...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var requests []string
			stdout, stderr, code, err := execute(t, newClient(objs, &requests), tc.args...)
			if err != nil || code != 0 {
				t.Fatalf("logs %s: exit code %d, error %v (stderr %q), want 0", strings.Join(tc.args, " "), code, err, stderr)
			}
			if diff := cmp.Diff(tc.wantOut, lines(stdout)); diff != "" {
				t.Errorf("logs %s: stdout lines, sorted (-want +got):\n%s", strings.Join(tc.args, " "), diff)
			}
			if diff := cmp.Diff(tc.wantRequests, slices.Sorted(slices.Values(requests))); diff != "" {
				t.Errorf("logs %s: log requests (-want +got):\n%s", strings.Join(tc.args, " "), diff)
			}
			if stderr != "" {
				t.Errorf("logs %s: stderr %q, want nothing", strings.Join(tc.args, " "), stderr)
			}
		})
	}
}

func TestLogsRejectsBadInputAndMissingRuns(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"neither a run nor -l", nil, "or select runs with -l"},
		{"a run and -l", []string{"r", "-l", "suite=api"}, "give run names or -l, not both"},
		{"a negative --since", []string{"r", "--since", "-5m"}, "--since -5m0s is negative"},
		{"--progress-every without -f", []string{"r", "--progress-every", "1m"}, "--progress-every needs -f"},
		{"a negative --progress-every", []string{"r", "-f", "--progress-every", "-1m"}, "--progress-every -1m0s is negative"},
		{"a selector that does not parse", []string{"-l", "suite in (api"}, `-l "suite in (api"`},
		{"a run that does not exist", []string{"missing"}, `run "missing" not found in namespace "ci": list the runs with kubectl testrun list -n ci`},
		{"a selector that matches nothing", []string{"-l", "suite=none"}, `no pod matches "suite=none" in namespace "ci"`},
		{"-c fetch where no fetch container ran", []string{"r", "-c", "fetch"}, `no fetch container ran in pod "r-abcde": one is added only when the reports are fetched (run --reports, or kubectl testrun fetch)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var requests []string
			stdout, _, code, err := execute(t, newClient(run("r", nil), &requests), tc.args...)
			if code != exitcode.CannotRun || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("logs %s: exit code %d, error %v; want %d and an error containing %q", strings.Join(tc.args, " "), code, err, exitcode.CannotRun, tc.want)
			}
			if stdout != "" || len(requests) != 0 {
				t.Errorf("logs %s: printed %q after %d log requests, want nothing", strings.Join(tc.args, " "), stdout, len(requests))
			}
		})
	}
}

// waiting returns run name with its test container waiting for reason: a run whose test cannot start.
func waiting(name, reason string) []runtime.Object {
	objs := run(name, nil)
	pod := objs[1].(*corev1.Pod)
	pod.Status.Phase = corev1.PodPending
	pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "it went wrong"}}
	return objs
}

// -f on a run whose test cannot start ends at once with the reason, and with the code run exits with; a run
// whose pod does not exist yet has no logs to print without -f.
func TestLogsOfARunThatCannotStartSaysWhy(t *testing.T) {
	noPod := run("new", nil)[:1]
	tests := []struct {
		name     string
		objs     []runtime.Object
		args     []string
		wantCode int
		want     string
	}{
		{"an image that cannot be pulled", waiting("r", "ErrImagePull"), []string{"r", "-f"}, exitcode.CannotRun,
			`pod "r-abcde": image "tests:1" cannot be pulled (ErrImagePull): it went wrong: check the image name`},
		{"a container that cannot be created", waiting("r", "CreateContainerError"), []string{"r", "-f"}, exitcode.CannotStart,
			`pod "r-abcde": the test container cannot be created from image "tests:1" (CreateContainerError): it went wrong`},
		{"no pod yet", noPod, []string{"new"}, exitcode.CannotRun,
			`no pod matches "` + runspec.LabelRun + `=new" in namespace "ci"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var requests []string
			stdout, _, code, err := execute(t, newClient(tc.objs, &requests), tc.args...)
			if code != tc.wantCode || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("logs %s: exit code %d, error %v; want %d and an error containing %q", strings.Join(tc.args, " "), code, err, tc.wantCode, tc.want)
			}
			if stdout != "" || len(requests) != 0 {
				t.Errorf("logs %s: printed %q after %d log requests, want nothing", strings.Join(tc.args, " "), stdout, len(requests))
			}
		})
	}
}

// Text from a pod reaches a terminal with its control characters escaped, so a test cannot drive the terminal.
func TestEscaperEscapesPodText(t *testing.T) {
	var out strings.Builder
	in := "ok\x1b]0;pwned\x1b\\ \x1b[31mred\n"
	n, err := escaper{&out}.Write([]byte(in))
	if err != nil || n != len(in) {
		t.Fatalf("Write(%q) = %d, %v; want %d, nil", in, n, err, len(in))
	}
	if diff := cmp.Diff("ok^[]0;pwned^[\\ ^[[31mred\n", out.String()); diff != "" {
		t.Errorf("escaped text (-want +got):\n%s", diff)
	}
}
