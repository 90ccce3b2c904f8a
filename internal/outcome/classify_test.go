package outcome

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/upload"
)

// Times of a run, in whole seconds as the API serializes them.
var (
	t0       = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	started  = t0.Add(5 * time.Second)
	finished = t0.Add(65 * time.Second)
	later    = t0.Add(90 * time.Second)
)

const (
	testImage = "registry.example/app-tests:1.2"
	podName   = "unit-x7k2p-9wzbn"
)

// newJob returns the Job of a run, with the given conditions.
func newJob(conds ...batchv1.JobCondition) *batchv1.Job {
	j := runspec.BuildJob(runspec.Spec{Name: "unit-x7k2p", Namespace: "ci", Image: testImage})
	j.Status.Conditions = conds
	return j
}

// jobCond returns a true Job condition set at at.
func jobCond(t batchv1.JobConditionType, reason, msg string, at time.Time) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(at)}
}

// newPod returns the pod of the run as the API shows it once scheduled, changed by opts.
func newPod(phase corev1.PodPhase, opts ...func(*corev1.Pod)) *corev1.Pod {
	job := newJob()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName, Namespace: "ci", Labels: job.Spec.Template.Labels},
		Spec:       *job.Spec.Template.Spec.DeepCopy(),
		Status: corev1.PodStatus{
			Phase: phase,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
			},
		},
	}
	p.Spec.NodeName = "node-1"
	for _, o := range opts {
		o(p)
	}
	return p
}

// containers sets the states of the test and holder containers.
func containers(test, holder corev1.ContainerState) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{
			{Name: runspec.TestContainer, Image: testImage, State: test},
			{Name: runspec.HolderContainer, Image: runspec.DefaultHelperImage, State: holder},
		}
	}
}

// uploadInit gives the pod the upload init container, in state s.
func uploadInit(s corev1.ContainerState) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: upload.ContainerName, Image: runspec.DefaultHelperImage, State: s}}
	}
}

// condition adds a pod condition.
func condition(t corev1.PodConditionType, status corev1.ConditionStatus, reason, msg string, at time.Time) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type: t, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(at),
		})
	}
}

// unscheduled makes the pod one the scheduler has not placed, with the given PodScheduled condition.
func unscheduled(reason, msg string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.NodeName = ""
		p.Status.Conditions = nil
		if reason != "" {
			condition(corev1.PodScheduled, corev1.ConditionFalse, reason, msg, t0)(p)
		}
	}
}

// podReason sets the pod's status reason and message.
func podReason(reason, msg string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.Reason, p.Status.Message = reason, msg }
}

// deleted marks the pod as deleted at at, with the run's grace period.
func deleted(at time.Time) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.DeletionTimestamp = ptr.To(metav1.NewTime(at.Add(10 * time.Second)))
		p.DeletionGracePeriodSeconds = ptr.To[int64](10)
	}
}

// memoryLimitOf sets the test container's memory limit.
func memoryLimitOf(q string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(q)}
	}
}

func waiting(reason, msg string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
}

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(started)}}
}

func exited(code int32, reason string, at time.Time) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, Reason: reason, StartedAt: metav1.NewTime(started), FinishedAt: metav1.NewTime(at),
	}}
}

// startError is how the kubelet shows a container runc could not start: never started, exit code 128.
func startError(msg string) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: 128, Reason: "StartError", Message: msg, StartedAt: metav1.NewTime(time.Unix(0, 0)), FinishedAt: metav1.NewTime(started),
	}}
}

// runcFailed is the message containerd and runc give when the process of a container cannot be executed.
func runcFailed(cause string) string {
	return "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: " + cause + ": unknown"
}

const (
	notFoundMsg   = `Failed to pull image "registry.example/app-tests:1.2": rpc error: code = NotFound desc = failed to pull and unpack image "registry.example/app-tests:1.2": failed to resolve reference "registry.example/app-tests:1.2": registry.example/app-tests:1.2: not found`
	backOffMsg    = `Back-off pulling image "registry.example/app-tests:1.2": ErrImagePull: failed to pull and unpack image "registry.example/app-tests:1.2": failed to resolve reference "registry.example/app-tests:1.2": pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials`
	unschedMsg    = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
	evictedMsg    = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 88Mi. Container test was using 1843Mi, request is 0, has larger consumption of memory."
	deadlineMsg   = "Job was active longer than specified deadline"
	backoffMsg    = "Job has reached the specified backoff limit"
	helperPullMsg = `Failed to pull image "docker.io/library/busybox:1.37": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/busybox:1.37": failed to resolve reference "docker.io/library/busybox:1.37": failed to do request: Head "https://registry-1.docker.io/v2/library/busybox/manifests/1.37": dial tcp: lookup registry-1.docker.io: no such host`
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		job  *batchv1.Job
		pod  *corev1.Pod
		// want holds Done, TestEnded, ExitCode, Reason and Status; Message is checked with wantMessage.
		want Outcome
		// wantMessage are fragments the message must contain: the key fact and the next step.
		wantMessage []string
	}{
		// In progress.
		{
			name: "no pod yet", job: newJob(),
			want: Outcome{Status: "waiting for the pod"},
		},
		{
			name: "pod not yet looked at by the scheduler", job: newJob(),
			pod:  newPod(corev1.PodPending, unscheduled("", "")),
			want: Outcome{Status: "waiting to be scheduled"},
		},
		{
			name: "pod held by a scheduling gate", job: newJob(),
			pod:  newPod(corev1.PodPending, unscheduled(corev1.PodReasonSchedulingGated, "Scheduling is blocked due to non-empty scheduling gates")),
			want: Outcome{Status: "waiting to be scheduled"},
		},
		{
			name: "scheduled, containers being created", job: newJob(),
			pod:  newPod(corev1.PodPending, containers(waiting("ContainerCreating", ""), waiting("ContainerCreating", ""))),
			want: Outcome{Status: "starting"},
		},
		{
			name: "scheduled, no container status yet", job: newJob(),
			pod:  newPod(corev1.PodPending),
			want: Outcome{Status: "starting"},
		},
		{
			name: "test running, holder still being created", job: newJob(),
			pod:  newPod(corev1.PodPending, containers(running(), waiting("ContainerCreating", ""))),
			want: Outcome{Status: "running"},
		},
		{
			name: "both running", job: newJob(),
			pod:  newPod(corev1.PodRunning, containers(running(), running())),
			want: Outcome{Status: "running"},
		},
		{
			name: "node stopped reporting", job: newJob(),
			pod:  newPod(corev1.PodUnknown, containers(running(), running())),
			want: Outcome{Status: "waiting for the node to report"},
		},

		// The test ran.
		{
			name: "test passed, holder keeps the pod", job: newJob(),
			pod:  newPod(corev1.PodRunning, containers(exited(0, "Completed", finished), running())),
			want: Outcome{TestEnded: true, ExitCode: 0, Reason: "Completed", Status: "test exited with code 0"},
		},
		{
			name: "test failed, holder keeps the pod", job: newJob(),
			pod:  newPod(corev1.PodRunning, containers(exited(3, "Error", finished), running())),
			want: Outcome{TestEnded: true, ExitCode: 3, Reason: "Error", Status: "test exited with code 3"},
		},
		{
			name: "test passed, holder released", job: newJob(),
			pod:         newPod(corev1.PodSucceeded, containers(exited(0, "Completed", finished), exited(0, "Completed", later))),
			want:        Outcome{Done: true, TestEnded: true, ExitCode: 0, Reason: "Completed", Status: "test exited with code 0"},
			wantMessage: []string{"passed"},
		},
		{
			name: "test failed, holder released, job failed", job: newJob(jobCond(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, backoffMsg, later)),
			pod:         newPod(corev1.PodFailed, containers(exited(3, "Error", finished), exited(0, "Completed", later))),
			want:        Outcome{Done: true, TestEnded: true, ExitCode: 3, Reason: "Error", Status: "test exited with code 3"},
			wantMessage: []string{"exit code 3"},
		},
		{
			name: "test passed, job complete", job: newJob(jobCond(batchv1.JobComplete, "", "", later)),
			pod:  newPod(corev1.PodSucceeded, containers(exited(0, "Completed", finished), exited(0, "Completed", later))),
			want: Outcome{Done: true, TestEnded: true, ExitCode: 0, Reason: "Completed", Status: "test exited with code 0"},
		},
		{
			name: "job complete, pod already gone", job: newJob(jobCond(batchv1.JobComplete, "", "", later)),
			want: Outcome{Done: true, TestEnded: true, ExitCode: 0, Reason: "Completed", Status: "test passed"},
		},
		{
			// The pod's watch lags behind the Job's (after an API server restart): the Job says the test ended.
			name: "job complete, pod seen before the test ended", job: newJob(jobCond(batchv1.JobComplete, "", "", later)),
			pod:  newPod(corev1.PodRunning, containers(running(), running())),
			want: Outcome{Done: true, TestEnded: true, ExitCode: 0, Reason: "Completed", Status: "test passed"},
		},
		{
			name: "test killed for memory", job: newJob(),
			pod:         newPod(corev1.PodRunning, memoryLimitOf("64Mi"), containers(exited(137, "OOMKilled", finished), running())),
			want:        Outcome{TestEnded: true, ExitCode: 137, Reason: "OOMKilled", Status: "test exited with code 137"},
			wantMessage: []string{"memory limit of 64Mi", "--limits memory"},
		},
		{
			name: "test ended, but the holder cannot be pulled", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(exited(2, "Error", finished), waiting("ImagePullBackOff", helperPullMsg))),
			want:        Outcome{Done: true, TestEnded: true, ExitCode: 2, Reason: "Error", Status: "test exited with code 2"},
			wantMessage: []string{"exit code 2", `"docker.io/library/busybox:1.37"`, "--helper-image"},
		},

		// The test could not run: 125.
		{
			name: "unschedulable", job: newJob(),
			pod:         newPod(corev1.PodPending, unscheduled(corev1.PodReasonUnschedulable, unschedMsg)),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "Unschedulable", Status: "cannot be scheduled"},
			wantMessage: []string{podName, "didn't match Pod's node affinity/selector", "--node-selector", "--toleration"},
		},
		{
			name: "image not found", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(waiting("ErrImagePull", notFoundMsg), waiting("ContainerCreating", ""))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "ErrImagePull", Status: "image cannot be pulled"},
			wantMessage: []string{`image "registry.example/app-tests:1.2"`, "app-tests:1.2: not found", "tag", "pull secret", "--image-pull-policy"},
		},
		{
			name: "image pull backing off", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(waiting("ImagePullBackOff", backOffMsg), waiting("ContainerCreating", ""))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "ImagePullBackOff", Status: "image cannot be pulled"},
			wantMessage: []string{`image "registry.example/app-tests:1.2"`, "no basic auth credentials", "pull secret"},
		},
		{
			name: "registry unavailable", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(waiting("RegistryUnavailable", "image pull failed for registry.example/app-tests:1.2 because the registry is unavailable: dial tcp 10.0.0.9:443: connect: connection refused"), waiting("ContainerCreating", ""))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "RegistryUnavailable", Status: "image cannot be pulled"},
			wantMessage: []string{"registry is unavailable"},
		},
		{
			name: "signature not valid", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(waiting("SignatureValidationFailed", "image pull failed for registry.example/app-tests:1.2 because the signature validation failed: no trusted signature"), waiting("ContainerCreating", ""))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "SignatureValidationFailed", Status: "image cannot be pulled"},
			wantMessage: []string{"signature validation failed"},
		},
		{
			name: "invalid image name", job: newJob(),
			pod: newPod(corev1.PodPending, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "Registry.example/App:1" },
				containers(waiting("InvalidImageName", `Failed to apply default image tag "Registry.example/App:1": couldn't parse image name "Registry.example/App:1": invalid reference format: repository name (library/Registry.example/App) must be lowercase`), waiting("ContainerCreating", ""))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "InvalidImageName", Status: "invalid image"},
			wantMessage: []string{`image "Registry.example/App:1"`, "must be lowercase", "--image"},
		},
		{
			name: "image never pulled and absent", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(waiting("ErrImageNeverPull", `Container image "registry.example/app-tests:1.2" is not present with pull policy of Never`), waiting("ContainerCreating", ""))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "ErrImageNeverPull", Status: "image not on the node"},
			wantMessage: []string{`image "registry.example/app-tests:1.2"`, "--image-pull-policy"},
		},
		{
			name: "helper image cannot be pulled while the test runs", job: newJob(),
			pod:         newPod(corev1.PodRunning, containers(running(), waiting("ErrImagePull", helperPullMsg))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "ErrImagePull", Status: "helper container cannot start"},
			wantMessage: []string{`helper image "docker.io/library/busybox:1.37"`, "no such host", "--helper-image"},
		},
		{
			name: "uploading", job: newJob(),
			pod:  newPod(corev1.PodPending, containers(waiting("PodInitializing", ""), waiting("PodInitializing", "")), uploadInit(running())),
			want: Outcome{Status: "uploading files (--upload)"},
		},
		{
			name: "helper image of the upload cannot be pulled", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(waiting("PodInitializing", ""), waiting("PodInitializing", "")), uploadInit(waiting("ErrImagePull", helperPullMsg))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "UploadFailed", Status: "upload failed"},
			wantMessage: []string{`the upload container "testrun-upload" cannot start from helper image "docker.io/library/busybox:1.37" (ErrImagePull)`, "no such host", "--helper-image"},
		},
		{
			name: "upload container gave up waiting", job: newJob(),
			pod: newPod(corev1.PodFailed, containers(waiting("PodInitializing", ""), waiting("PodInitializing", "")),
				uploadInit(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "no upload arrived within 300 s: the client that started the run went away"}})),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "UploadFailed", Status: "upload failed"},
			wantMessage: []string{`the upload container "testrun-upload" ended with exit code 1 (Error): no upload arrived within 300 s`},
		},
		{
			name: "missing Secret", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(waiting("CreateContainerConfigError", `secret "db-creds" not found`), waiting("ContainerCreating", ""))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "CreateContainerConfigError", Status: "container cannot be configured"},
			wantMessage: []string{`secret "db-creds" not found`, `namespace "ci"`, "--env-from"},
		},
		{
			name: "missing key in a Secret", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(waiting("CreateContainerConfigError", "couldn't find key password in Secret ci/db-creds"), waiting("ContainerCreating", ""))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "CreateContainerConfigError", Status: "container cannot be configured"},
			wantMessage: []string{"couldn't find key password in Secret ci/db-creds", "--env"},
		},
		{
			name: "missing ConfigMap", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(waiting("CreateContainerConfigError", `configmap "test-config" not found`), waiting("ContainerCreating", ""))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "CreateContainerConfigError", Status: "container cannot be configured"},
			wantMessage: []string{`configmap "test-config" not found`, "--env-from"},
		},
		{
			name: "image runs as root where non-root is required", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(waiting("CreateContainerConfigError", `container has runAsNonRoot and image will run as root (pod: "unit-x7k2p-9wzbn_ci(5b0c1c52-8a1e-4f4e-9d51-1d3c1f0e2a11)", container: test)`), running())),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "CreateContainerConfigError", Status: "container cannot be configured"},
			wantMessage: []string{"runAsNonRoot", "non-root user", "numeric uid"},
		},
		{
			name: "job failed, no pod to tell why", job: newJob(jobCond(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, backoffMsg, later)),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "JobFailed", Status: "job failed"},
			wantMessage: []string{`job "unit-x7k2p"`, "BackoffLimitExceeded", backoffMsg, "kubectl describe job unit-x7k2p -n ci"},
		},
		{
			name: "pod rejected by the kubelet at admission", job: newJob(),
			pod:         newPod(corev1.PodFailed, podReason("OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu, requested: 8000, used: 950, capacity: 2000")),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "OutOfcpu", Status: "pod failed"},
			wantMessage: []string{"Node didn't have enough resource: cpu", "kubectl describe pod"},
		},

		// The container could not start: 126, 127.
		{
			name: "container cannot be created", job: newJob(),
			pod:         newPod(corev1.PodPending, containers(waiting("CreateContainerError", `failed to reserve container name "test_unit-x7k2p-9wzbn_ci_5b0c1c52_0": name "test_unit-x7k2p-9wzbn_ci_5b0c1c52_0" is reserved for "4f1c0d"`), waiting("ContainerCreating", ""))),
			want:        Outcome{Done: true, ExitCode: 126, Reason: "CreateContainerError", Status: "container cannot be created"},
			wantMessage: []string{"failed to reserve container name", `image "registry.example/app-tests:1.2"`},
		},
		{
			name: "command path does not exist", job: newJob(),
			pod:         newPod(corev1.PodRunning, containers(startError(runcFailed(`exec: "/nope": stat /nope: no such file or directory`)), running())),
			want:        Outcome{Done: true, ExitCode: 127, Reason: "StartError", Status: "command not found"},
			wantMessage: []string{`exec: "/nope": stat /nope: no such file or directory`, `image "registry.example/app-tests:1.2"`, "after --"},
		},
		{
			name: "command not in PATH (runc 1.2 wording)", job: newJob(),
			pod:         newPod(corev1.PodRunning, containers(startError(runcFailed(`error during container init: exec: "pytest": executable file not found in $PATH`)), running())),
			want:        Outcome{Done: true, ExitCode: 127, Reason: "StartError", Status: "command not found"},
			wantMessage: []string{`exec: "pytest": executable file not found in $PATH`},
		},
		{
			name: "command not executable", job: newJob(),
			pod:         newPod(corev1.PodRunning, containers(startError(runcFailed(`exec: "/app/run.sh": permission denied`)), running())),
			want:        Outcome{Done: true, ExitCode: 126, Reason: "StartError", Status: "command cannot be started"},
			wantMessage: []string{`exec: "/app/run.sh": permission denied`, "executable"},
		},
		{
			name: "start failure of another kind", job: newJob(),
			pod:         newPod(corev1.PodRunning, containers(startError(runcFailed("error during container init: error mounting \"/var/lib/kubelet/pods/x/volumes\" to rootfs at \"/reports\": mount dst=/reports: read-only file system")), running())),
			want:        Outcome{Done: true, ExitCode: 126, Reason: "StartError", Status: "command cannot be started"},
			wantMessage: []string{"read-only file system"},
		},
		{
			name: "start failure reported by docker", job: newJob(),
			pod: newPod(corev1.PodRunning, containers(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 127, Reason: "ContainerCannotRun", Message: `OCI runtime create failed: container_linux.go:380: starting container process caused: exec: "go": executable file not found in $PATH: unknown`,
				FinishedAt: metav1.NewTime(started),
			}}, running())),
			want:        Outcome{Done: true, ExitCode: 127, Reason: "ContainerCannotRun", Status: "command not found"},
			wantMessage: []string{`exec: "go": executable file not found`},
		},
		{
			name: "helper image has no sh", job: newJob(),
			pod:         newPod(corev1.PodRunning, containers(running(), startError(runcFailed(`exec: "sh": executable file not found in $PATH`)))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "StartError", Status: "helper container cannot start"},
			wantMessage: []string{`image "docker.io/library/busybox:1.37"`, `exec: "sh"`, "--helper-image"},
		},

		// Timed out: 124.
		{
			name: "deadline hit while the test ran", job: newJob(jobCond(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, deadlineMsg, finished)),
			pod:         newPod(corev1.PodRunning, deleted(finished), containers(exited(143, "Error", later), exited(0, "Completed", later))),
			want:        Outcome{Done: true, ExitCode: 124, Reason: "DeadlineExceeded", Status: "timed out"},
			wantMessage: []string{`run "unit-x7k2p"`, "deadline of 1h11m0s", "--timeout"},
		},
		{
			name: "deadline hit, pod already gone", job: newJob(jobCond(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, deadlineMsg, finished), jobCond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, deadlineMsg, later)),
			want:        Outcome{Done: true, ExitCode: 124, Reason: "DeadlineExceeded", Status: "timed out"},
			wantMessage: []string{"--timeout"},
		},
		{
			name: "deadline hit while pulling", job: newJob(jobCond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, deadlineMsg, later)),
			pod:  newPod(corev1.PodPending, containers(waiting("ContainerCreating", ""), waiting("ContainerCreating", ""))),
			want: Outcome{Done: true, ExitCode: 124, Reason: "DeadlineExceeded", Status: "timed out"},
		},
		{
			name: "test ended in the second the deadline hit", job: newJob(jobCond(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, deadlineMsg, finished)),
			pod:  newPod(corev1.PodFailed, containers(exited(143, "Error", finished), exited(0, "Completed", later))),
			want: Outcome{Done: true, ExitCode: 124, Reason: "DeadlineExceeded", Status: "timed out"},
		},
		{
			name: "test ended before the deadline, which only cut the hold", job: newJob(jobCond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, deadlineMsg, later)),
			pod:  newPod(corev1.PodFailed, containers(exited(0, "Completed", finished), exited(0, "Completed", later))),
			want: Outcome{Done: true, TestEnded: true, ExitCode: 0, Reason: "Completed", Status: "test exited with code 0"},
		},
		{
			name: "pod's own deadline", job: newJob(),
			pod:  newPod(corev1.PodFailed, podReason("DeadlineExceeded", "Pod was active on the node longer than the specified deadline"), containers(exited(137, "Error", later), exited(0, "Completed", later))),
			want: Outcome{Done: true, ExitCode: 124, Reason: "DeadlineExceeded", Status: "timed out"},
		},

		// Stopped by the cluster: 125.
		{
			name: "evicted by the kubelet under memory pressure", job: newJob(),
			pod: newPod(corev1.PodFailed, podReason("Evicted", evictedMsg),
				condition(corev1.DisruptionTarget, corev1.ConditionTrue, corev1.PodReasonTerminationByKubelet, "The node was low on resource: memory.", finished),
				containers(exited(137, "Error", later), exited(0, "Completed", later))),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "Evicted", Status: "evicted"},
			wantMessage: []string{"evicted", "The node was low on resource: memory", "--requests"},
		},
		{
			name: "evicted through the API by a drain", job: newJob(),
			pod: newPod(corev1.PodRunning, deleted(finished),
				condition(corev1.DisruptionTarget, corev1.ConditionTrue, "EvictionByEvictionAPI", "Eviction API: evicting", finished),
				containers(running(), running())),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "EvictionByEvictionAPI", Status: "evicted"},
			wantMessage: []string{podName, "evicted through the Eviction API", "Eviction API: evicting", "run the test again"},
		},
		{
			name: "lost with its node: deleted by the taint manager", job: newJob(),
			pod: newPod(corev1.PodRunning, deleted(finished),
				condition(corev1.DisruptionTarget, corev1.ConditionTrue, "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint", finished),
				containers(running(), running())),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "DeletionByTaintManager", Status: "node lost"},
			wantMessage: []string{podName, "stopped reporting", "NoExecute taint"},
		},
		{
			name: "preempted by a pod of higher priority", job: newJob(),
			pod: newPod(corev1.PodRunning, deleted(finished),
				condition(corev1.DisruptionTarget, corev1.ConditionTrue, corev1.PodReasonPreemptionByScheduler, "ci/build-7: preempting to accommodate a higher priority pod", finished),
				containers(exited(143, "Error", later), running())),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "PreemptionByScheduler", Status: "stopped by the cluster"},
			wantMessage: []string{"preempting to accommodate a higher priority pod"},
		},
		{
			name: "node lost", job: newJob(),
			pod: newPod(corev1.PodFailed, podReason("NodeLost", "Node node-1 which was running pod unit-x7k2p-9wzbn is unresponsive"),
				containers(running(), running())),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "NodeLost", Status: "node lost"},
			wantMessage: []string{"Node node-1 which was running pod unit-x7k2p-9wzbn is unresponsive"},
		},
		{
			name: "pod deleted by someone while the test ran", job: newJob(),
			pod:         newPod(corev1.PodRunning, deleted(finished), containers(exited(143, "Error", later), running())),
			want:        Outcome{Done: true, ExitCode: 125, Reason: "PodDeleted", Status: "pod deleted"},
			wantMessage: []string{podName, "deleted", `namespace "ci"`},
		},
		{
			name: "pod deleted after the test ended", job: newJob(),
			pod:  newPod(corev1.PodRunning, deleted(later), containers(exited(1, "Error", finished), running())),
			want: Outcome{Done: true, TestEnded: true, ExitCode: 1, Reason: "Error", Status: "test exited with code 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, pod := tt.job.DeepCopy(), tt.pod.DeepCopy()
			got := Classify(tt.job, tt.pod)
			if diff := cmp.Diff(job, tt.job); diff != "" {
				t.Errorf("Classify must not change the Job (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(pod, tt.pod); diff != "" {
				t.Errorf("Classify must not change the pod (-before +after):\n%s", diff)
			}
			message := got.Message
			got.Message = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Classify() (-want +got):\n%s\nmessage: %s", diff, message)
			}
			for _, fragment := range tt.wantMessage {
				if !strings.Contains(message, fragment) {
					t.Errorf("message must contain %q, got: %s", fragment, message)
				}
			}
			if got.Done && message == "" {
				t.Errorf("a finished run must say what happened, got an empty message for %+v", got)
			}
			if !got.Done && !got.TestEnded && message != "" {
				t.Errorf("a run in progress has no message, got: %s", message)
			}
		})
	}
}
