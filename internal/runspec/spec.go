package runspec

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/rand"
)

// Names, labels and defaults shared by everything that creates or finds a run.
const (
	// LabelManagedBy marks every object the plugin creates, so cleanup can find them all.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy on the plugin's objects.
	ManagedByValue = "kubectl-testrun"
	// LabelRun carries the full generated run name, on the Job and on its pods.
	LabelRun = "testrun.dev/name"

	// TestContainer is the name of the container that runs the user's image.
	TestContainer = "test"
	// HolderContainer is the name of the container that keeps the pod running after the test ended.
	HolderContainer = "holder"

	// ReportsVolume is the emptyDir the test writes its reports into.
	ReportsVolume = "testrun-reports"
	// ControlVolume is the emptyDir through which the plugin releases the holder.
	ControlVolume = "testrun-control"
	// ControlDir is where the holder mounts ControlVolume.
	ControlDir = "/testrun"
	// ReleaseFile is the file whose existence tells the holder to exit.
	ReleaseFile = ControlDir + "/release"
	// WakeFile is the FIFO the holder waits on, which the release writes to, so the holder sees it at once;
	// WakeBase is its name in ControlVolume.
	WakeFile = ControlDir + "/" + WakeBase
	WakeBase = "wake"
	// TestPidsFile is where the holder records the test's processes when it starts, so that a wait in another
	// container can tell when none is left; TestPidsBase is its name in ControlVolume.
	TestPidsFile = ControlDir + "/" + TestPidsBase
	TestPidsBase = "test-pids"
	// HolderReportsDir is where the holder mounts ReportsVolume, read-only.
	HolderReportsDir = ControlDir + "/reports"

	// DefaultReportDir is where the reports volume is mounted in the test container when Spec.ReportDir is empty.
	DefaultReportDir = "/reports"
	// DefaultHelperImage runs the holder when Spec.HelperImage is empty. Any image with a POSIX sh, date,
	// sleep (with fractions of a second) and touch will do.
	DefaultHelperImage = "docker.io/library/busybox:1.37"

	// DefaultTimeout bounds a test when Spec.Timeout is zero.
	DefaultTimeout = time.Hour
	// DefaultHold is how long the holder keeps the pod after the test ended when Spec.Hold is zero.
	DefaultHold = 10 * time.Minute
	// DefaultGrace is how long the test may take to stop, after SIGTERM, when the run is interrupted or
	// deleted, when Spec.Grace is zero: short, so that an interrupted run is gone within the ~10 s a CI
	// system leaves between SIGINT and SIGKILL (docs/reliability.md).
	DefaultGrace = 3 * time.Second
	// MaxDeadline bounds the timeout and the hold together, and the grace period: far beyond any test, and far
	// from where adding margins or converting to seconds could overflow (time.Duration ends at ~292 years).
	MaxDeadline = 365 * 24 * time.Hour
)

// Limits on names, from the Kubernetes label value limit that the run name must fit.
const (
	// maxNameLength is the longest run name: the Job name is copied into label values, limited to 63.
	maxNameLength = 63
	// suffixLength is the number of random characters NewRunName appends.
	suffixLength = 5
	// MaxRunNameBaseLength is the longest base ValidateRunName accepts, so that base, "-" and the random suffix
	// fit in maxNameLength.
	MaxRunNameBaseLength = maxNameLength - 1 - suffixLength
)

// Spec is everything needed to build the Job of one run. Zero values mean the documented defaults, which are
// applied by BuildJob, so a Spec can be rendered, compared and validated before anything is created.
type Spec struct {
	// Name is the run name, already generated (see NewRunName); it names the Job.
	Name string
	// Namespace is where the Job is created; empty leaves it to the client that creates the Job.
	Namespace string
	// Image is the user's test image.
	Image string
	// Command replaces the image entrypoint when set.
	Command []string
	// Args are the arguments to the command (or to the image entrypoint when Command is empty).
	Args []string
	// WorkingDir is where the test container starts; "" leaves the image's WORKDIR.
	WorkingDir string
	// Env is added to the test container after the TESTRUN_* variables, so a user value wins.
	Env []corev1.EnvVar
	// EnvFrom is passed to the test container as is.
	EnvFrom []corev1.EnvFromSource
	// ImagePullPolicy of the test container; empty leaves it to the API server default.
	ImagePullPolicy corev1.PullPolicy
	// ServiceAccount the pod runs as; empty means the namespace's default.
	ServiceAccount string
	// Resources of the test container.
	Resources corev1.ResourceRequirements
	// NodeSelector of the pod.
	NodeSelector map[string]string
	// Tolerations of the pod.
	Tolerations []corev1.Toleration
	// Labels are user labels, added to the Job and its pod template.
	Labels map[string]string
	// Timeout bounds the test; 0 means DefaultTimeout.
	Timeout time.Duration
	// Hold is how long the holder keeps the pod after the test ended, for its reports to be fetched, when
	// nobody releases it; 0 means DefaultHold.
	Hold time.Duration
	// Grace is how long the test may take to stop after SIGTERM when its pod is deleted (an interrupted
	// run, a timeout); 0 means DefaultGrace.
	Grace time.Duration
	// ReportDir is where the test writes its reports; "" means DefaultReportDir.
	ReportDir string
	// MoreReportDirs are further directories of the test container whose files are reports too (e.g. a
	// coverage directory). With them, each directory is a sub-directory of the reports volume, and the
	// reports come home under their paths (ReportDirs).
	MoreReportDirs []string
	// HelperImage runs the holder; "" means DefaultHelperImage.
	HelperImage string
	// Restricted gives the test container the security context PodSecurity "restricted" requires: a
	// non-root user, no privilege escalation, every capability dropped.
	Restricted bool
	// Files are configuration files mounted into the test container, each at its own path.
	Files []ConfigFile
	// GitSHA and GitRef are the commit and ref the client's CI builds, exported to the test as
	// TESTRUN_GIT_SHA and TESTRUN_GIT_REF when set.
	GitSHA, GitRef string
	// PodPatches change the pod template after the plugin built it, in order: a definition's
	// podTemplatePatch, then --overrides (see Job).
	PodPatches []PodPatch
	// Uploads are local files and directories placed in the test container before its test starts
	// (--upload): an init container of the helper image receives them (package upload).
	Uploads []Upload
	// Shards splits the run over this many pods of one Indexed Job, each told its shard (EnvShardIndex,
	// EnvShardCount) so that it runs its share of the suite; 0 and 1 mean one pod, as without sharding.
	Shards int
	// MaxParallel bounds how many shards run at once; 0 means all of them. A run of one pod ignores it.
	MaxParallel int
	// ShardTests, when set, holds for each shard the tests it runs (--balance-from), given to every pod
	// in EnvShardTests; a framework runs the tests it does not name as it would without it.
	ShardTests [][]string
}

// maxShardTestsBytes bounds the list of EnvShardTests, which travels in the pod spec of every shard.
const maxShardTestsBytes = 256 << 10

// MaxShards bounds Spec.Shards: far beyond what a suite gains from, and small enough that following every
// shard stays cheap for the client.
const MaxShards = 100

// Sharded reports whether the run is split over several pods.
func (s Spec) Sharded() bool { return s.Shards > 1 }

// ShardCount returns the number of pods of the run: Shards, at least 1.
func (s Spec) ShardCount() int { return max(s.Shards, 1) }

// EffectiveMaxParallel returns how many shards run at once, with the default (all) applied.
func (s Spec) EffectiveMaxParallel() int {
	if s.MaxParallel <= 0 || s.MaxParallel > s.ShardCount() {
		return s.ShardCount()
	}
	return s.MaxParallel
}

// Upload is a local file or directory that the test container finds at Path when it starts. Upload i is
// entry "i" of the upload volume, mounted read-write with that subPath at Path.
type Upload struct {
	// Local is the file or directory on the client.
	Local string
	// Path is the absolute path in the test container: the directory holding the content of a local
	// directory, or the file itself.
	Path string
	// Skip are paths inside a directory Local, relative to it with '/', left out of the upload.
	Skip []string
}

// DefaultUploadDir is the directory under which an upload given without a path lands, under its own base name.
const DefaultUploadDir = "/testrun/upload"

// ConfigFile is a file the test container finds at Path, whose content is a literal Value, a Secret key or a
// ConfigMap key. None of them needs a permission beyond the documented Role: a Value travels in a pod
// annotation (AnnotationConfigPrefix + Name) read through the downward API, a key through a secret or
// configMap volume of the pod; either is mounted with a subPath at Path, so the rest of Path's directory is
// left as the image has it.
type ConfigFile struct {
	// Name identifies the file; it is part of an annotation name, so at most 56 characters of letters,
	// digits, '_', '-' and '.', starting and ending with a letter or digit.
	Name string
	// Path is the absolute path of the file in the test container.
	Path string
	// Value is the literal content, used when SecretKeyRef and ConfigMapKeyRef are nil.
	Value string
	// SecretKeyRef takes the content from a key of a Secret of the run's namespace.
	SecretKeyRef *corev1.SecretKeySelector
	// ConfigMapKeyRef takes the content from a key of a ConfigMap of the run's namespace.
	ConfigMapKeyRef *corev1.ConfigMapKeySelector
}

// NewRunName returns base followed by "-" and five random characters, so that runs started from the same
// definition at the same time never collide. Validate base with ValidateRunName first.
func NewRunName(base string) string {
	return base + "-" + rand.String(suffixLength)
}

// ValidateRunName checks that base can be turned into a run name by NewRunName: a DNS-1123 label short
// enough that the generated name still fits the 63 characters of a label value.
func ValidateRunName(base string) error {
	if base == "" {
		return errors.New("the run name is empty: give it as NAME, the first argument of run")
	}
	if len(base) > MaxRunNameBaseLength {
		return fmt.Errorf("run name %q is %d characters long: give at most %d characters as NAME, so the generated name with its random suffix fits in %d",
			base, len(base), MaxRunNameBaseLength, maxNameLength)
	}
	if len(content.IsDNS1123Label(base)) != 0 {
		return fmt.Errorf("run name %q is not a valid name: give NAME with lowercase letters, digits and '-' only, starting and ending with a letter or digit (e.g. \"unit-tests\")", base)
	}
	return nil
}

// Validate checks the Spec without contacting the cluster and returns every problem found, each naming the
// flag that fixes it. It checks what the API server would reject late or not at all (an empty image, a report
// directory of "/") and what would break the plugin's own labels.
func (s Spec) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch {
	case s.Name == "":
		add("the run name is empty: give it as NAME, the first argument of run")
	case len(s.Name) > maxNameLength || len(content.IsDNS1123Label(s.Name)) != 0:
		add("run name %q is not a DNS-1123 label of at most %d characters: give NAME with lowercase letters, digits and '-' only", s.Name, maxNameLength)
	}
	if s.Namespace != "" && len(content.IsDNS1123Label(s.Namespace)) != 0 {
		add("namespace %q is not a valid namespace name: fix --namespace", s.Namespace)
	}
	switch {
	case s.Image == "":
		add("no image given: pass the test image with --image")
	case strings.ContainsFunc(s.Image, unicode.IsSpace):
		add("image %q contains whitespace: fix --image", s.Image)
	}
	if strings.ContainsFunc(s.HelperImage, unicode.IsSpace) {
		add("helper image %q contains whitespace: fix --helper-image", s.HelperImage)
	}
	switch s.ImagePullPolicy {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		add("image pull policy %q is not one of Always, IfNotPresent or Never: fix --image-pull-policy", s.ImagePullPolicy)
	}
	if s.ServiceAccount != "" && len(content.IsDNS1123Subdomain(s.ServiceAccount)) != 0 {
		add("service account %q is not a valid name: fix --service-account", s.ServiceAccount)
	}
	if s.Timeout < 0 {
		add("timeout %s is negative: pass a positive duration with --timeout (e.g. 30m), or 0 for the default of %s", s.Timeout, DefaultTimeout)
	}
	if s.Hold < 0 {
		add("hold %s is negative: pass a positive duration with --hold, or 0 for the default of %s", s.Hold, DefaultHold)
	}
	if s.Grace < 0 {
		add("grace period %s is negative: pass a positive duration with --grace-period (e.g. 3s), or 0 for the default of %s", s.Grace, DefaultGrace)
	}
	if s.Grace > MaxDeadline {
		add("grace period %s is longer than %s: lower --grace-period", s.Grace, MaxDeadline)
	}
	if s.Timeout >= 0 && s.Hold >= 0 && s.EffectiveTimeout() > MaxDeadline-s.EffectiveHold() {
		add("timeout %s and hold %s together are longer than %s, the longest a run may last: lower --timeout or --hold", s.EffectiveTimeout(), s.EffectiveHold(), MaxDeadline)
	}
	if s.WorkingDir != "" && !path.IsAbs(s.WorkingDir) {
		add("working directory %q is not an absolute path: pass one such as /src with --workdir", s.WorkingDir)
	}
	if s.ReportDir != "" {
		switch dir := path.Clean(s.ReportDir); {
		case !path.IsAbs(dir):
			add("report directory %q is not an absolute path: pass one like %q with --report-dir", s.ReportDir, DefaultReportDir)
		case dir == "/":
			add("report directory %q is the root of the container: pass a directory of its own, like %q, with --report-dir", s.ReportDir, DefaultReportDir)
		}
	}
	dirs := s.ReportDirs()
	for i, d := range dirs[1:] {
		if !path.IsAbs(d) || d == "/" {
			add("report directory %q must be an absolute path other than /: fix --report-dir", s.MoreReportDirs[i])
		}
	}
	for i, a := range dirs {
		for _, b := range dirs[i+1:] {
			if a == b || strings.HasPrefix(b, a+"/") || strings.HasPrefix(a, b+"/") {
				add("report directories %q and %q overlap: give each --report-dir once, and none inside another", a, b)
			}
		}
	}
	for _, k := range sortedKeys(s.Labels) {
		switch {
		case k == LabelManagedBy || k == LabelRun:
			add("label %q is set by kubectl-testrun itself: remove it from --label", k)
		case len(content.IsLabelKey(k)) != 0:
			add("label key %q is not valid: %s: fix --label", k, strings.Join(content.IsLabelKey(k), "; "))
		case len(content.IsLabelValue(s.Labels[k])) != 0:
			add("label %q has an invalid value %q: %s: fix --label", k, s.Labels[k], strings.Join(content.IsLabelValue(s.Labels[k]), "; "))
		}
	}
	errs = append(errs, s.validateFiles()...)
	errs = append(errs, s.validateUploads()...)
	switch {
	case s.Shards < 0 || s.Shards > MaxShards:
		add("shards %d is out of range: pass --shards between 1 and %d", s.Shards, MaxShards)
	case s.MaxParallel < 0:
		add("max parallel %d is negative: pass --max-parallel 1 or more, or 0 for every shard at once", s.MaxParallel)
	case len(s.ShardTests) > 0 && len(s.ShardTests) != s.ShardCount():
		add("the balanced split has %d shards, the run %d: give --balance-from with --shards", len(s.ShardTests), s.ShardCount())
	}
	size := 0
	for _, tests := range s.ShardTests {
		for _, t := range tests {
			size += len(t) + 4
			if t == "" || strings.ContainsAny(t, "\n\r") {
				add("test name %q from --balance-from cannot be passed to a shard: names must be one line, not empty", t)
			}
		}
	}
	if size > maxShardTestsBytes {
		add("the balanced split names tests of %d bytes, more than the %d a pod spec carries here: balance a smaller report with --balance-from", size, maxShardTestsBytes)
	}
	for _, t := range s.Tolerations {
		switch {
		case len(content.IsLabelKey(t.Key)) != 0:
			add("toleration key %q is not a valid taint key: %s: fix --toleration", t.Key, strings.Join(content.IsLabelKey(t.Key), "; "))
		case t.Operator == corev1.TolerationOpEqual && len(content.IsLabelValue(t.Value)) != 0:
			add("toleration %q has an invalid value %q: %s: fix --toleration", t.Key, t.Value, strings.Join(content.IsLabelValue(t.Value), "; "))
		}
		switch t.Effect {
		case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			add("toleration %q has the effect %q: use NoSchedule, PreferNoSchedule or NoExecute, or none for every effect, in --toleration", t.Key, t.Effect)
		}
	}
	for _, k := range sortedKeys(s.NodeSelector) {
		switch {
		case len(content.IsLabelKey(k)) != 0:
			add("node selector key %q is not a valid label key: %s: fix --node-selector", k, strings.Join(content.IsLabelKey(k), "; "))
		case len(content.IsLabelValue(s.NodeSelector[k])) != 0:
			add("node selector %q has an invalid value %q: %s: fix --node-selector", k, s.NodeSelector[k], strings.Join(content.IsLabelValue(s.NodeSelector[k]), "; "))
		}
	}
	if len(s.PodPatches) > 0 && len(errs) == 0 {
		// Patches apply to the pod the rest of the Spec builds, so they are checked once the rest is valid.
		if _, err := Job(s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EffectiveTimeout returns the test's timeout with the default applied.
func (s Spec) EffectiveTimeout() time.Duration {
	if s.Timeout == 0 {
		return DefaultTimeout
	}
	return s.Timeout
}

// EffectiveHold returns how long the holder outlives the timeout, with the default applied.
func (s Spec) EffectiveHold() time.Duration {
	if s.Hold == 0 {
		return DefaultHold
	}
	return s.Hold
}

// EffectiveGrace returns the test's termination grace period with the default applied.
func (s Spec) EffectiveGrace() time.Duration {
	if s.Grace == 0 {
		return DefaultGrace
	}
	return s.Grace
}

// ReportDirs returns every report directory, the main one first, cleaned.
func (s Spec) ReportDirs() []string {
	dirs := []string{s.EffectiveReportDir()}
	for _, d := range s.MoreReportDirs {
		dirs = append(dirs, path.Clean(d))
	}
	return dirs
}

// EffectiveReportDir returns the cleaned report directory, with the default applied, so that the mount and
// TESTRUN_REPORT_DIR always agree.
func (s Spec) EffectiveReportDir() string {
	if s.ReportDir == "" {
		return DefaultReportDir
	}
	return path.Clean(s.ReportDir)
}

// EffectiveHelperImage returns the holder's image, with the default applied.
func (s Spec) EffectiveHelperImage() string {
	if s.HelperImage == "" {
		return DefaultHelperImage
	}
	return s.HelperImage
}

// sortedKeys returns the keys of m in order, so that errors come out the same on every run.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// maxAnnotationBytes is the API server's limit on the total size of an object's annotations.
const maxAnnotationBytes = 256 * 1024

// validateFiles checks the configuration files: each needs a name fit for an annotation, an absolute path of
// its own outside the report directory (a file mounted there would be copied out with the reports), and
// the literal values together must fit in the pod's annotations.
func (s Spec) validateFiles() []error {
	var errs []error
	paths := map[string]string{}
	total := 0
	for _, f := range s.Files {
		p := path.Clean(f.Path)
		switch {
		case f.Name == "" || len(content.IsLabelKey(AnnotationConfigPrefix+f.Name)) != 0:
			errs = append(errs, fmt.Errorf("config file %q: the name must be at most %d letters, digits, '_', '-' and '.', starting and ending with a letter or digit: rename the config entry", f.Name, maxConfigFileName))
		case !path.IsAbs(f.Path) || p == "/":
			errs = append(errs, fmt.Errorf("config file %q: path %q is not the absolute path of a file: fix the path of the config entry", f.Name, f.Path))
		case p == s.EffectiveReportDir() || strings.HasPrefix(p, s.EffectiveReportDir()+"/"):
			errs = append(errs, fmt.Errorf("config file %q: path %q is in the report directory %q, so it would be copied out with the reports: mount it elsewhere, or change --report-dir", f.Name, f.Path, s.EffectiveReportDir()))
		case paths[p] != "":
			errs = append(errs, fmt.Errorf("config file %q: path %q is also the path of config file %q: give each file its own path", f.Name, f.Path, paths[p]))
		}
		paths[p] = f.Name
		if f.SecretKeyRef != nil && f.ConfigMapKeyRef != nil {
			errs = append(errs, fmt.Errorf("config file %q: takes its content from both a Secret and a ConfigMap: keep one", f.Name))
		}
		if f.SecretKeyRef == nil && f.ConfigMapKeyRef == nil {
			total += len(AnnotationConfigPrefix) + len(f.Name) + len(f.Value)
		}
	}
	if total > maxAnnotationBytes-16*1024 {
		errs = append(errs, fmt.Errorf("config files with literal values total %d bytes, more than pod annotations can carry (256 KiB with room for others): put the large ones in a ConfigMap or Secret and use configMapKeyRef or secretKeyRef", total))
	}
	return errs
}

// validateUploads checks where the uploads go: absolute paths, none the root, none inside another or a
// report directory, which would hide one mount under the other (an upload to a report directory itself
// seeds it).
func (s Spec) validateUploads() []error {
	var errs []error
	taken := map[string]string{}
	for _, d := range s.ReportDirs() {
		taken[d] = "report directory"
	}
	for _, u := range s.Uploads {
		p := path.Clean(u.Path)
		switch {
		case u.Local == "":
			errs = append(errs, fmt.Errorf("upload to %q names no local file or directory: give --upload LOCAL[:POD_PATH]", u.Path))
			continue
		case !path.IsAbs(p) || p == "/":
			errs = append(errs, fmt.Errorf("upload %q goes to %q, which is not an absolute path other than /: give --upload LOCAL:POD_PATH with a path such as /work", u.Local, u.Path))
			continue
		}
		for other, what := range taken {
			if p == other && what == "report directory" {
				continue // it seeds the report directory (see seeds)
			}
			if p == other || strings.HasPrefix(p, other+"/") || strings.HasPrefix(other, p+"/") {
				errs = append(errs, fmt.Errorf("upload %q goes to %q, which overlaps the %s %q: give each --upload a path of its own (--upload LOCAL:POD_PATH)", u.Local, p, what, other))
			}
		}
		taken[p] = "upload of " + strconv.Quote(u.Local)
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// FetchedFile is where the plugin leaves the FetchRecord for the holder, which turns it into its termination
// message when it is released.
const FetchedFile = ControlDir + "/fetched"

// BaseName returns the name a run was started as (NAME given to run, or the definition's name): run without
// the "-" and random suffix NewRunName appended. ok is false for a name NewRunName cannot have made.
func BaseName(run string) (base string, ok bool) {
	cut := len(run) - suffixLength - 1
	if cut < 1 || run[cut] != '-' {
		return "", false
	}
	for _, c := range run[cut+1:] {
		if !strings.ContainsRune(suffixAlphabet, c) {
			return "", false
		}
	}
	return run[:cut], true
}

// suffixAlphabet holds the characters of the random suffix: those of k8s.io/apimachinery/pkg/util/rand.String,
// no vowels, so that no word is spelt by chance.
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"
