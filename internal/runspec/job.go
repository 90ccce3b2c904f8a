package runspec

import (
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/upload"
)

// Environment variables the test container receives, so a test can find its report directory and name its
// reports after the run.
const (
	// EnvName holds the run name.
	EnvName = "TESTRUN_NAME"
	// EnvNamespace holds the namespace of the run.
	EnvNamespace = "TESTRUN_NAMESPACE"
	// EnvReportDir holds the directory the test should write its reports into.
	EnvReportDir = "TESTRUN_REPORT_DIR"
	// EnvHoldSeconds tells the holder how long it may keep the pod after the test ended.
	EnvHoldSeconds = "TESTRUN_HOLD_SECONDS"
	// EnvGitSHA holds the commit the client's CI builds (Spec.GitSHA), when known.
	EnvGitSHA = "TESTRUN_GIT_SHA"
	// EnvGitRef holds the branch or tag the client's CI builds (Spec.GitRef), when known.
	EnvGitRef = "TESTRUN_GIT_REF"
	// EnvShardIndex holds the shard of a sharded run the pod runs, from 0: the Job's completion index.
	EnvShardIndex = "TESTRUN_SHARD_INDEX"
	// EnvShardCount holds the number of shards of a sharded run.
	EnvShardCount = "TESTRUN_SHARD_COUNT"
	// EnvShardTests holds the tests each shard runs (Spec.ShardTests): one line "INDEX NAME" per test.
	EnvShardTests = "TESTRUN_SHARD_TESTS"
)

// LabelShard is the label (and annotation) the Job controller puts on each pod of an Indexed Job: the pod's
// completion index, which is its shard.
const LabelShard = "batch.kubernetes.io/job-completion-index"

const (
	// AnnotationConfigPrefix is the start of the pod annotation that carries a ConfigFile's literal value
	// to the downward API volume it is mounted from; the file's name follows it.
	AnnotationConfigPrefix = "testrun.dev/config."
	// maxConfigFileName is the longest ConfigFile name that fits in the 63 characters of an annotation name.
	maxConfigFileName = 63 - len("config.")
	// configVolumePrefix, followed by the file's index, names the volume of a ConfigFile.
	configVolumePrefix = "testrun-config-"
	// configItem is the name of the one file in a ConfigFile's volume, mounted with subPath at its path.
	configItem = "content"
)

const (
	// ttlAfterFinished lets the cluster delete a finished Job even when the client died before cleaning up.
	ttlAfterFinished = 600
	// DeadlineMargin is added to the timeout and the hold for the Job's activeDeadlineSeconds, so that the
	// holder, which started after the Job did, normally ends before the Job is killed.
	DeadlineMargin = time.Minute
	// nobody is the uid and gid the holder runs as.
	nobody = 65534
)

// holderScript is what the holder container runs. The holder exists because nothing can be read from a pod
// once all its containers have exited: ephemeral containers are accepted but never started, exec is refused
// (docs/design.md, "The holder"). The holder keeps the pod running after the test container exits,
// so the plugin can add an ephemeral container that reads the reports volume, then release the holder by
// creating ReleaseFile.
//
// If the plugin never does (it was killed, or nobody is watching), the holder gives up TESTRUN_HOLD_SECONDS
// after the test ended, so an abandoned pod stops holding the node's resources soon after its test, not
// after the whole timeout. The pod shares one process namespace: the test container starts before the
// holder, so the processes the holder sees when it starts, other than itself and the pod's pause process
// (PID 1), are the test's; the test has ended when none of them exists any more.
//
// It records those processes in TestPidsFile, where the plugin's wait for the test's end reads them (see
// internal/reports' AwaitEnd).
//
// When the plugin fetched the reports first, it left a FetchRecord in FetchedFile: the holder makes it its
// termination message (the kubelet makes that file writable for any user), so the pod's status keeps it.
//
// It always exits 0, also on SIGTERM, so that the pod's phase, and so the Job's, follows the test container's
// exit code alone. It has no "$$": Kubernetes turns "$$" in a command into "$"; the shell reads its own PID
// from /proc/self, which a builtin's redirection opens in the shell itself.
//
// Its wait costs no process (docs/performance.md, P4): it reads the time from /proc/uptime, and it waits a
// second at a time with the shell's `read -t` on WakeFile, a FIFO the release also writes, so the release is
// seen at once; sh runs a trap as soon as a signal interrupts that read. A helper image whose shell has no
// `read -t` (dash) or no mkfifo sleeps in the background and waits instead (a foreground sleep would delay
// the exit on TERM). The FIFO is writable by any user, so that the fetch container, which runs as another
// user, can wait on it too.
const holderScript = `trap 'exit 0' TERM INT
proc=${` + envProcDir + `:-/proc}
self=
[ -r "$proc/self/stat" ] && read -r self _ < "$proc/self/stat"
test=
for p in "$proc"/[0-9]*; do
  p=${p##*/}
  [ "$p" = 1 ] || [ "$p" = "$self" ] || test="$test $p"
done
{ printf '%s\n' "$test" > ` + TestPidsFile + `; } 2>/dev/null
wake=` + WakeFile + `
{ mkfifo -m 666 "$wake" && { read -t 0 _ <> "$wake"; [ $? -le 1 ]; }; } 2>/dev/null || wake=
ended=
until [ -e ` + ReleaseFile + ` ]; do
  read -r now _ < /proc/uptime
  now=${now%%.*}
  if [ -z "$ended" ]; then
    ended=$now
    for p in $test; do [ -d "$proc/$p" ] && ended= && break; done
  elif [ $(( now - ended )) -ge ` + "$" + EnvHoldSeconds + ` ]; then
    break
  fi
  if [ -n "$wake" ]; then read -t "${` + envPollSeconds + `:-1}" _ <> "$wake"; else sleep "${` + envPollSeconds + `:-1}" & wait $!; fi
done
if [ -s ` + FetchedFile + ` ] && IFS= read -r record < ` + FetchedFile + `; then
  printf '%s' "$record" > /dev/termination-log
fi
exit 0
`

// envProcDir lets the unit tests of holderScript give it a fake /proc, envPollSeconds a longer wait between
// its checks; the Job sets neither.
const (
	envProcDir     = "TESTRUN_PROC_DIR"
	envPollSeconds = "TESTRUN_POLL_SECONDS"
)

// BuildJob returns the Job of a run, ready to create or to print: it has its apiVersion and kind, and the
// defaults of s applied. It does not validate s; call Spec.Validate first.
func BuildJob(s Spec) *batchv1.Job {
	labels := make(map[string]string, len(s.Labels)+2)
	maps.Copy(labels, s.Labels)
	labels[LabelManagedBy] = ManagedByValue
	labels[LabelRun] = s.Name

	meta := metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: labels}
	annotations, volumes, _ := configFiles(s.Files)
	var initContainers []corev1.Container
	if len(s.Uploads) > 0 {
		initContainers = []corev1.Container{upload.Container(s.EffectiveHelperImage(), UploadVolume, 0)}
		initContainers[0].VolumeMounts = append(initContainers[0].VolumeMounts, seedMounts(s)...)
		volumes = append(volumes, corev1.Volume{Name: UploadVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}
	if dirs := s.ReportDirs(); len(dirs) > 1 {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[AnnotationReportDirs] = strings.Join(dirs, ",")
	}
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "Job"},
		ObjectMeta: meta,
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0),
			ActiveDeadlineSeconds:   ptr.To(seconds(s.EffectiveTimeout() + s.EffectiveHold() + DeadlineMargin)),
			TTLSecondsAfterFinished: ptr.To[int32](ttlAfterFinished),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels), Annotations: annotations},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					EnableServiceLinks:            ptr.To(false),
					TerminationGracePeriodSeconds: ptr.To(seconds(s.EffectiveGrace())),
					// The holder tells the test's end by its processes (see holderScript).
					ShareProcessNamespace: ptr.To(true),
					ServiceAccountName:    s.ServiceAccount,
					NodeSelector:          s.NodeSelector,
					Tolerations:           s.Tolerations,
					SecurityContext: &corev1.PodSecurityContext{
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					InitContainers: initContainers,
					Containers:     []corev1.Container{testContainer(s), holderContainer(s)},
					Volumes: append([]corev1.Volume{
						{Name: ReportsVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: ControlVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					}, volumes...),
				},
			},
		},
	}
	if s.Sharded() {
		shard(job, s)
	}
	return job
}

// shard makes job an Indexed Job of s.Shards pods, at most s.MaxParallel at a time. A failed shard is not
// retried (backoffLimitPerIndex 0) and does not fail the Job while other shards still run, so that they
// finish and bring their reports home; the Job fails once every shard ended and one failed.
func shard(job *batchv1.Job, s Spec) {
	n := int32(s.ShardCount()) //nolint:gosec // bounded by MaxShards
	job.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	job.Spec.Completions = ptr.To(n)
	job.Spec.Parallelism = ptr.To(int32(s.EffectiveMaxParallel())) //nolint:gosec // bounded by MaxShards
	job.Spec.BackoffLimitPerIndex = ptr.To[int32](0)
	// Each shard fails at most once, so the Job-wide limit is never what ends it.
	job.Spec.BackoffLimit = ptr.To(n)
}

// testContainer runs the user's image as the user asked; it gets no securityContext of ours, so images that
// need root still run where the namespace allows it.
func testContainer(s Spec) corev1.Container {
	// Ours come first so that a user value wins; one the user sets is left out, rather than shadowed, so
	// the API server does not warn about a duplicate.
	var env []corev1.EnvVar
	for _, e := range []corev1.EnvVar{
		{Name: EnvName, Value: s.Name},
		{Name: EnvNamespace, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: EnvReportDir, Value: s.EffectiveReportDir()},
		{Name: EnvGitSHA, Value: s.GitSHA},
		{Name: EnvGitRef, Value: s.GitRef},
	} {
		if e.Value == "" && e.ValueFrom == nil {
			continue
		}
		if !slices.ContainsFunc(s.Env, func(u corev1.EnvVar) bool { return u.Name == e.Name }) {
			env = append(env, e)
		}
	}
	if s.Sharded() {
		for _, e := range shardEnv(s) {
			if !slices.ContainsFunc(s.Env, func(u corev1.EnvVar) bool { return u.Name == e.Name }) {
				env = append(env, e)
			}
		}
	}
	_, _, mounts := configFiles(s.Files)
	var security *corev1.SecurityContext
	if s.Restricted {
		security = &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
	}
	return corev1.Container{
		Name:            TestContainer,
		SecurityContext: security,
		Image:           s.Image,
		Command:         s.Command,
		Args:            s.Args,
		WorkingDir:      s.WorkingDir,
		Env:             append(env, s.Env...),
		EnvFrom:         s.EnvFrom,
		ImagePullPolicy: s.ImagePullPolicy,
		Resources:       s.Resources,
		VolumeMounts:    append(append(reportMounts(s), mounts...), uploadMounts(s)...),
		// The tail of the log becomes the termination message of a failed test, so describe and the
		// diagnostics show why it failed without fetching the logs.
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}

// shardEnv tells the test its shard: the index from the pod's completion index, through the downward API,
// so that every pod of the one template gets its own.
func shardEnv(s Spec) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: EnvShardIndex, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + LabelShard + "']"}}},
		{Name: EnvShardCount, Value: strconv.Itoa(s.ShardCount())},
	}
	if len(s.ShardTests) > 0 {
		var b strings.Builder
		for i, tests := range s.ShardTests {
			for _, t := range tests {
				fmt.Fprintf(&b, "%d %s\n", i, t)
			}
		}
		env = append(env, corev1.EnvVar{Name: EnvShardTests, Value: b.String()})
	}
	return env
}

// AnnotationReportDirs lists, on the pod of a run with several report directories, the directories in the
// order of the volume's sub-directories 0, 1, …, so that fetch can put each one's files under its own path.
const AnnotationReportDirs = "testrun.dev/report-dirs"

// reportMounts mounts the reports volume at the report directory; with several, each one gets its own
// sub-directory of the volume, named after its index.
func reportMounts(s Spec) []corev1.VolumeMount {
	dirs := s.ReportDirs()
	if len(dirs) == 1 {
		return []corev1.VolumeMount{{Name: ReportsVolume, MountPath: dirs[0]}}
	}
	mounts := make([]corev1.VolumeMount, len(dirs))
	for i, d := range dirs {
		mounts[i] = corev1.VolumeMount{Name: ReportsVolume, MountPath: d, SubPath: strconv.Itoa(i)}
	}
	return mounts
}

// UploadVolume is the emptyDir the upload init container fills before the test starts (Spec.Uploads).
const UploadVolume = "testrun-upload"

// uploadMounts mounts upload i, entry "i" of the upload volume, at its path in the test container,
// read-write: a suite may write next to its files (caches, its own output), as it would in a checkout.
func uploadMounts(s Spec) []corev1.VolumeMount {
	var mounts []corev1.VolumeMount
	for i, u := range s.Uploads {
		if _, seeds := s.seeds(u); seeds {
			continue
		}
		mounts = append(mounts, corev1.VolumeMount{Name: UploadVolume, MountPath: path.Clean(u.Path), SubPath: strconv.Itoa(i)})
	}
	return mounts
}

// seeds says whether upload u goes to a report directory itself, and that directory's subPath in the
// reports volume: such an upload seeds the directory, whose files are there when the test starts and come
// home with what the test adds (a flow's shared directory handed on the way TestMachinery hands it).
func (s Spec) seeds(u Upload) (subPath string, ok bool) {
	dirs := s.ReportDirs()
	i := slices.Index(dirs, path.Clean(u.Path))
	switch {
	case i < 0:
		return "", false
	case len(dirs) == 1:
		return "", true
	}
	return strconv.Itoa(i), true
}

// seedMounts mounts, in the upload init container, the report directory each seeding upload i fills at
// its entry "i" of the upload volume, so that the upload unpacks straight into it.
func seedMounts(s Spec) []corev1.VolumeMount {
	var mounts []corev1.VolumeMount
	for i, u := range s.Uploads {
		if sub, ok := s.seeds(u); ok {
			mounts = append(mounts, corev1.VolumeMount{Name: ReportsVolume, MountPath: path.Join(upload.Dir, strconv.Itoa(i)), SubPath: sub})
		}
	}
	return mounts
}

// UploadItems returns what the upload init container of the run receives: upload i as entry "i".
func (s Spec) UploadItems() []upload.Item {
	items := make([]upload.Item, len(s.Uploads))
	for i, u := range s.Uploads {
		items[i] = upload.Item{Local: u.Local, Name: strconv.Itoa(i), Skip: u.Skip}
	}
	return items
}

// holderContainer keeps the pod running after the test ended (see holderScript). It is locked down so that
// PodSecurity "restricted" admits it, and it never sees the reports.
func holderContainer(s Spec) corev1.Container {
	return corev1.Container{
		Name:    HolderContainer,
		Image:   s.EffectiveHelperImage(),
		Command: []string{"sh", "-c", holderScript},
		Env:     []corev1.EnvVar{{Name: EnvHoldSeconds, Value: strconv.FormatInt(seconds(s.EffectiveHold()), 10)}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("1m"),
				corev1.ResourceMemory: resource.MustParse("8Mi"),
			},
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")},
		},
		// The reports are mounted read-only so that they can be fetched through the holder where a policy
		// forbids ephemeral containers.
		VolumeMounts: []corev1.VolumeMount{
			{Name: ControlVolume, MountPath: ControlDir},
			{Name: ReportsVolume, MountPath: HolderReportsDir, ReadOnly: true},
		},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			RunAsUser:                ptr.To[int64](nobody),
			RunAsGroup:               ptr.To[int64](nobody),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			ReadOnlyRootFilesystem:   ptr.To(true),
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// configFiles returns what mounts the configuration files in the test container: the pod annotations that
// carry literal values, one volume per file and one read-only subPath mount of it at the file's path.
func configFiles(files []ConfigFile) (map[string]string, []corev1.Volume, []corev1.VolumeMount) {
	var (
		annotations map[string]string
		volumes     []corev1.Volume
		mounts      []corev1.VolumeMount
	)
	for i, f := range files {
		name := configVolumePrefix + strconv.Itoa(i)
		var source corev1.VolumeSource
		switch {
		case f.SecretKeyRef != nil:
			source.Secret = &corev1.SecretVolumeSource{
				SecretName: f.SecretKeyRef.Name,
				Items:      []corev1.KeyToPath{{Key: f.SecretKeyRef.Key, Path: configItem}},
				Optional:   f.SecretKeyRef.Optional,
			}
		case f.ConfigMapKeyRef != nil:
			source.ConfigMap = &corev1.ConfigMapVolumeSource{
				LocalObjectReference: f.ConfigMapKeyRef.LocalObjectReference,
				Items:                []corev1.KeyToPath{{Key: f.ConfigMapKeyRef.Key, Path: configItem}},
				Optional:             f.ConfigMapKeyRef.Optional,
			}
		default:
			if annotations == nil {
				annotations = map[string]string{}
			}
			key := AnnotationConfigPrefix + f.Name
			annotations[key] = f.Value
			source.DownwardAPI = &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{
				Path:     configItem,
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + key + "']"},
			}}}
		}
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: source})
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: path.Clean(f.Path), SubPath: configItem, ReadOnly: true})
	}
	return annotations, volumes, mounts
}

// seconds rounds d up to whole seconds, so a deadline is never shorter than asked.
func seconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}
