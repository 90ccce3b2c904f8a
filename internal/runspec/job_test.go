package runspec

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
)

// minimalSpec is what the smallest `kubectl testrun run --image` asks for.
func minimalSpec() Spec {
	return Spec{Name: "unit-x7k2p", Namespace: "ci", Image: "registry.example/app-tests:1.2"}
}

// fullSpec sets every field, so the golden file shows where each one lands.
func fullSpec() Spec {
	return Spec{
		Name:       "integration-4fz9q",
		Namespace:  "team-a",
		Image:      "registry.example/app-tests@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Command:    []string{"go", "test"},
		Args:       []string{"./...", "-json"},
		WorkingDir: "/src/app",
		Env: []corev1.EnvVar{
			{Name: "DB_HOST", Value: "db.team-a.svc"},
			{Name: EnvReportDir, Value: "/override"},
			{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "api-token"}, Key: "token",
			}}},
		},
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "test-config"}}},
		},
		ImagePullPolicy: corev1.PullAlways,
		ServiceAccount:  "tester",
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
		},
		NodeSelector: map[string]string{"kubernetes.io/arch": "arm64"},
		Tolerations:  []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "ci", Effect: corev1.TaintEffectNoSchedule}},
		Labels:       map[string]string{"team": "a", "suite": "integration"},
		Timeout:      90 * time.Second,
		Hold:         2*time.Minute + 500*time.Millisecond,
		ReportDir:    "/work/out/",
		HelperImage:  "registry.example/busybox:1.37",
		Restricted:   true,
	}
}

// uploadSpec uploads a suite directory and a single file, as `run --upload ./suite:/work --upload
// ./fixtures/data.bin` asks.
func uploadSpec() Spec {
	s := minimalSpec()
	s.Command = []string{"sh", "/work/run.sh"}
	s.Uploads = []Upload{{Local: "./suite", Path: "/work"}, {Local: "fixtures/data.bin", Path: DefaultUploadDir + "/data.bin"}}
	return s
}

func TestValidateUploads(t *testing.T) {
	tests := []struct {
		name    string
		uploads []Upload
		want    []string
	}{
		{name: "valid", uploads: uploadSpec().Uploads},
		{name: "relative path", uploads: []Upload{{Local: "a", Path: "work"}},
			want: []string{`upload "a" goes to "work", which is not an absolute path other than /`}},
		{name: "root", uploads: []Upload{{Local: "a", Path: "/"}},
			want: []string{`upload "a" goes to "/", which is not an absolute path other than /`}},
		{name: "no local", uploads: []Upload{{Path: "/work"}},
			want: []string{`upload to "/work" names no local file or directory`}},
		{name: "over the reports", uploads: []Upload{{Local: "a", Path: "/reports/in"}},
			want: []string{`upload "a" goes to "/reports/in", which overlaps the report directory "/reports"`}},
		{name: "seeds the report directory", uploads: []Upload{{Local: "a", Path: "/reports/"}}},
		{name: "one inside another", uploads: []Upload{{Local: "a", Path: "/work"}, {Local: "b", Path: "/work/b/"}},
			want: []string{`upload "b" goes to "/work/b", which overlaps the upload of "a" "/work"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := minimalSpec()
			s.Uploads = tt.uploads
			var got []string
			if err := s.Validate(); err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			for i := range got {
				got[i], _, _ = strings.Cut(got[i], ": give")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

// An upload to a report directory itself seeds it: the upload init container unpacks it straight into that
// directory's place in the reports volume, and the test container mounts the directory once, as a report
// directory, so that what it finds there comes home with what it adds.
func TestBuildJobSeedsAReportDirectory(t *testing.T) {
	s := minimalSpec()
	s.MoreReportDirs = []string{"/shared"}
	s.Uploads = []Upload{{Local: "./suite", Path: "/work"}, {Local: "./from", Path: "/shared"}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	pod := BuildJob(s).Spec.Template.Spec
	mountsOf := func(c corev1.Container, volume string) []corev1.VolumeMount {
		return slices.DeleteFunc(slices.Clone(c.VolumeMounts), func(m corev1.VolumeMount) bool { return m.Name != volume })
	}
	wantInit := []corev1.VolumeMount{{Name: ReportsVolume, MountPath: "/testrun/upload/1", SubPath: "1"}}
	if diff := cmp.Diff(wantInit, mountsOf(pod.InitContainers[0], ReportsVolume)); diff != "" {
		t.Errorf("the upload container's mounts of the reports volume (-want +got):\n%s", diff)
	}
	wantTest := []corev1.VolumeMount{{Name: UploadVolume, MountPath: "/work", SubPath: "0"}}
	if diff := cmp.Diff(wantTest, mountsOf(pod.Containers[0], UploadVolume)); diff != "" {
		t.Errorf("the test container's mounts of the upload volume (-want +got):\n%s", diff)
	}
}

// shardedSpec is `run --shards 3 --max-parallel 2 --balance-from …`.
func shardedSpec() Spec {
	s := minimalSpec()
	s.Shards, s.MaxParallel = 3, 2
	s.ShardTests = [][]string{{"TestSlow"}, {"TestA", "TestB"}, {}}
	return s
}

func TestBuildJobGolden(t *testing.T) {
	tests := []struct {
		name   string
		spec   Spec
		golden string
	}{
		{name: "minimal", spec: minimalSpec(), golden: "job-minimal.golden.yaml"},
		{name: "full", spec: fullSpec(), golden: "job-full.golden.yaml"},
		{name: "uploads", spec: uploadSpec(), golden: "job-upload.golden.yaml"},
		{name: "sharded", spec: shardedSpec(), golden: "job-sharded.golden.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.spec.Validate(); err != nil {
				t.Fatalf("the spec of a golden file must be valid, got: %v", err)
			}
			got, err := yaml.Marshal(BuildJob(tt.spec))
			if err != nil {
				t.Fatalf("rendering the Job as YAML: %v", err)
			}
			testkit.Golden(t, filepath.Join("testdata", tt.golden), got)
		})
	}
}

func TestBuildJobInvariants(t *testing.T) {
	tests := []struct {
		name             string
		spec             Spec
		wantDeadline     int64
		wantHoldSeconds  string
		wantReportDir    string
		wantHelperImage  string
		wantReportDirEnv string // the value the test sees last, which Kubernetes uses
	}{
		{
			name: "defaults", spec: minimalSpec(),
			wantDeadline: 3600 + 600 + 60, wantHoldSeconds: "600", wantReportDir: DefaultReportDir,
			wantHelperImage: DefaultHelperImage, wantReportDirEnv: DefaultReportDir,
		},
		{
			name: "everything set, fractions rounded up", spec: fullSpec(),
			wantDeadline: 90 + 121 + 60, wantHoldSeconds: "121", wantReportDir: "/work/out",
			wantHelperImage: "registry.example/busybox:1.37", wantReportDirEnv: "/override",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := BuildJob(tt.spec)
			pod := job.Spec.Template.Spec
			if got := *job.Spec.ActiveDeadlineSeconds; got != tt.wantDeadline {
				t.Errorf("activeDeadlineSeconds = %d, want %d (timeout + hold + 60 s)", got, tt.wantDeadline)
			}
			if len(pod.Containers) != 2 || pod.Containers[0].Name != TestContainer || pod.Containers[1].Name != HolderContainer {
				t.Fatalf("containers must be [%s %s], got %d: %+v", TestContainer, HolderContainer, len(pod.Containers), pod.Containers)
			}
			test, holder := pod.Containers[0], pod.Containers[1]
			if diff := cmp.Diff([]corev1.VolumeMount{{Name: ReportsVolume, MountPath: tt.wantReportDir}}, test.VolumeMounts); diff != "" {
				t.Errorf("test container mounts (-want +got):\n%s", diff)
			}
			wantHolderMounts := []corev1.VolumeMount{{Name: ControlVolume, MountPath: ControlDir}, {Name: ReportsVolume, MountPath: HolderReportsDir, ReadOnly: true}}
			if diff := cmp.Diff(wantHolderMounts, holder.VolumeMounts); diff != "" {
				t.Errorf("holder mounts (-want +got); the holder may only read the reports:\n%s", diff)
			}
			if script := strings.Join(holder.Command, " "); strings.Contains(script, "$$") {
				t.Errorf("the holder's command has %q, which Kubernetes turns into %q: %s", "$$", "$", script)
			}
			if pod.ShareProcessNamespace == nil || !*pod.ShareProcessNamespace {
				t.Errorf("shareProcessNamespace = %v, want true: the holder tells the test's end by its processes", pod.ShareProcessNamespace)
			}
			if got, want := *pod.TerminationGracePeriodSeconds, seconds(tt.spec.EffectiveGrace()); got != want || want < 1 {
				t.Errorf("terminationGracePeriodSeconds = %d, want the run's grace period %d", got, want)
			}
			if diff := cmp.Diff([]corev1.EnvVar{{Name: EnvHoldSeconds, Value: tt.wantHoldSeconds}}, holder.Env); diff != "" {
				t.Errorf("holder env (-want +got):\n%s", diff)
			}
			if holder.Image != tt.wantHelperImage {
				t.Errorf("holder image = %q, want %q", holder.Image, tt.wantHelperImage)
			}
			if sc := test.SecurityContext; !tt.spec.Restricted && sc != nil {
				t.Errorf("the test container must keep the image's own user, got securityContext %+v", sc)
			} else if tt.spec.Restricted && (sc == nil || sc.RunAsUser != nil || !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation) {
				t.Errorf("a restricted test container must run as the image's non-root user without escalation, got %+v", sc)
			}
			// A user value must win over ours: Kubernetes keeps the last of duplicate names.
			var last string
			for _, e := range test.Env {
				if e.Name == EnvReportDir {
					last = e.Value
				}
			}
			if last != tt.wantReportDirEnv {
				t.Errorf("last %s in the test env = %q, want %q", EnvReportDir, last, tt.wantReportDirEnv)
			}
			for k, v := range map[string]string{LabelManagedBy: ManagedByValue, LabelRun: tt.spec.Name} {
				if job.Labels[k] != v || job.Spec.Template.Labels[k] != v {
					t.Errorf("label %s: Job has %q, pod template %q, want %q on both", k, job.Labels[k], job.Spec.Template.Labels[k], v)
				}
			}
		})
	}
}

func TestNewRunName(t *testing.T) {
	base := "unit"
	pattern := regexp.MustCompile(`^unit-[a-z0-9]{5}$`)
	seen := map[string]bool{}
	for range 100 {
		name := NewRunName(base)
		if !pattern.MatchString(name) {
			t.Fatalf("NewRunName(%q) = %q, want %q followed by - and 5 lowercase letters or digits", base, name, base)
		}
		if seen[name] {
			t.Fatalf("NewRunName(%q) returned %q twice in 100 calls", base, name)
		}
		seen[name] = true
	}
	longest := strings.Repeat("a", MaxRunNameBaseLength)
	if err := ValidateRunName(longest); err != nil {
		t.Fatalf("ValidateRunName of a %d-character base: %v", len(longest), err)
	}
	if got := NewRunName(longest); len(got) != 63 {
		t.Errorf("NewRunName of the longest base gives %d characters, want 63: %q", len(got), got)
	}
}

func TestValidateRunName(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		wantErr string // a fragment the error must contain; "" for no error
	}{
		{name: "plain", base: "unit-tests"},
		{name: "digits", base: "123"},
		{name: "57 characters", base: strings.Repeat("x", 57)},
		{name: "empty", base: "", wantErr: "NAME"},
		{name: "58 characters", base: strings.Repeat("x", 58), wantErr: "at most 57 characters as NAME"},
		{name: "uppercase", base: "Unit", wantErr: "NAME"},
		{name: "underscore", base: "unit_tests", wantErr: `"unit_tests"`},
		{name: "leading dash", base: "-unit", wantErr: "NAME"},
		{name: "trailing dash", base: "unit-", wantErr: "NAME"},
		{name: "dot", base: "unit.tests", wantErr: "NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, ValidateRunName(tt.base), tt.wantErr)
		})
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(*Spec)
		wantErr string // a fragment the error must contain, normally the flag; "" for no error
	}{
		{name: "minimal", modify: func(*Spec) {}},
		{name: "full", modify: func(s *Spec) { *s = fullSpec() }},
		{name: "no namespace leaves it to the client", modify: func(s *Spec) { s.Namespace = "" }},
		{name: "empty name", modify: func(s *Spec) { s.Name = "" }, wantErr: "NAME"},
		{name: "name too long", modify: func(s *Spec) { s.Name = strings.Repeat("a", 64) }, wantErr: "NAME"},
		{name: "bad namespace", modify: func(s *Spec) { s.Namespace = "Team A" }, wantErr: "--namespace"},
		{name: "no image", modify: func(s *Spec) { s.Image = "" }, wantErr: "--image"},
		{name: "image with space", modify: func(s *Spec) { s.Image = "app tests" }, wantErr: "--image"},
		{name: "helper image with space", modify: func(s *Spec) { s.HelperImage = " busybox" }, wantErr: "--helper-image"},
		{name: "bad pull policy", modify: func(s *Spec) { s.ImagePullPolicy = "Sometimes" }, wantErr: "--image-pull-policy"},
		{name: "bad service account", modify: func(s *Spec) { s.ServiceAccount = "Tester!" }, wantErr: "--service-account"},
		{name: "negative timeout", modify: func(s *Spec) { s.Timeout = -time.Second }, wantErr: "--timeout"},
		{name: "negative hold", modify: func(s *Spec) { s.Hold = -time.Second }, wantErr: "--hold"},
		{name: "relative report dir", modify: func(s *Spec) { s.ReportDir = "reports" }, wantErr: "--report-dir"},
		{name: "report dir is root", modify: func(s *Spec) { s.ReportDir = "/" }, wantErr: "--report-dir"},
		{name: "report dir climbs to root", modify: func(s *Spec) { s.ReportDir = "/reports/.." }, wantErr: "--report-dir"},
		{name: "report dir with trailing slash", modify: func(s *Spec) { s.ReportDir = "/out/" }},
		{name: "reserved label", modify: func(s *Spec) { s.Labels = map[string]string{LabelRun: "x"} }, wantErr: "--label"},
		{name: "bad label key", modify: func(s *Spec) { s.Labels = map[string]string{"a b": "x"} }, wantErr: "--label"},
		{name: "bad label value", modify: func(s *Spec) { s.Labels = map[string]string{"team": "a/b"} }, wantErr: "--label"},
		{name: "bad node selector", modify: func(s *Spec) { s.NodeSelector = map[string]string{"zone": "eu west"} }, wantErr: "--node-selector"},
		{name: "sharded", modify: func(s *Spec) { *s = shardedSpec() }},
		{name: "one shard is an unsharded run", modify: func(s *Spec) { s.Shards = 1 }},
		{name: "negative shards", modify: func(s *Spec) { s.Shards = -1 }, wantErr: "--shards"},
		{name: "too many shards", modify: func(s *Spec) { s.Shards = MaxShards + 1 }, wantErr: "--shards"},
		{name: "negative max parallel", modify: func(s *Spec) { s.Shards, s.MaxParallel = 3, -1 }, wantErr: "--max-parallel"},
		{name: "max parallel without shards is ignored", modify: func(s *Spec) { s.MaxParallel = 2 }},
		{name: "a split of other shards", modify: func(s *Spec) { *s = shardedSpec(); s.Shards = 2 }, wantErr: "--balance-from"},
		{name: "a test name of two lines", modify: func(s *Spec) { *s = shardedSpec(); s.ShardTests[2] = []string{"a\nb"} }, wantErr: "--balance-from"},
		{name: "a split too large", modify: func(s *Spec) {
			*s = shardedSpec()
			s.ShardTests[2] = []string{strings.Repeat("x", maxShardTestsBytes)}
		}, wantErr: "--balance-from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := minimalSpec()
			tt.modify(&s)
			checkErr(t, s.Validate(), tt.wantErr)
		})
	}

	t.Run("every problem is reported at once", func(t *testing.T) {
		err := Spec{Name: "x", Timeout: -1, ReportDir: "rel"}.Validate()
		for _, flag := range []string{"--image", "--timeout", "--report-dir"} {
			if err == nil || !strings.Contains(err.Error(), flag) {
				t.Errorf("error must name %s among all problems, got: %v", flag, err)
			}
		}
	})
}

// checkErr fails t unless err is nil when wantErr is empty, or contains wantErr and follows the error style.
func checkErr(t *testing.T, err error, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Fatalf("want no error, got: %v", err)
	case wantErr == "":
		return
	case err == nil:
		t.Fatalf("want an error containing %q, got none", wantErr)
	case !strings.Contains(err.Error(), wantErr):
		t.Fatalf("error must contain %q, got: %v", wantErr, err)
	}
	for _, e := range strings.Split(err.Error(), "\n") {
		if first := e[:1]; first != strings.ToLower(first) {
			t.Errorf("errors start lowercase, got: %q", e)
		}
	}
}

// TestHolderScript runs the holder's script with a local shell and a fake /proc, so its ways out (release,
// hold over after the test ended, SIGTERM) are checked without a cluster, in a few seconds: with busybox, the
// shell of the default helper image, and with dash, a shell without `read -t`, which takes the fallback.
func TestHolderScript(t *testing.T) {
	shells := map[string][]string{}
	if busybox, err := exec.LookPath("busybox"); err == nil {
		shells["busybox"] = []string{busybox, "sh", "-c"}
	}
	if dash, err := exec.LookPath("dash"); err == nil {
		shells["dash"] = []string{dash, "-c"}
	}
	if len(shells) == 0 {
		t.Fatal("no busybox or dash on PATH: the holder script cannot be tested (install busybox-static)")
	}
	tests := []struct {
		name        string
		holdSeconds string
		act         func(t *testing.T, h *holder)
		atMost      time.Duration
		atLeast     time.Duration
	}{
		{
			name: "exits soon after the release file appears", holdSeconds: "60",
			act: func(t *testing.T, h *holder) {
				time.Sleep(300 * time.Millisecond)
				h.touchRelease(t)
			},
			atLeast: 300 * time.Millisecond, atMost: 3 * time.Second,
		},
		{
			name: "exits when the hold is over after the test ended", holdSeconds: "1",
			act: func(t *testing.T, h *holder) {
				time.Sleep(1500 * time.Millisecond)
				if err := os.Remove(h.test); err != nil {
					t.Fatal(err)
				}
			},
			atLeast: 1500 * time.Millisecond, atMost: 6 * time.Second,
		},
		{
			name: "keeps the pod while the test runs, longer than the hold", holdSeconds: "1",
			act: func(t *testing.T, h *holder) {
				time.Sleep(2500 * time.Millisecond)
				h.touchRelease(t)
			},
			atLeast: 2500 * time.Millisecond, atMost: 5 * time.Second,
		},
		{
			name: "exits 0 at once on SIGTERM", holdSeconds: "60",
			act: func(t *testing.T, h *holder) {
				time.Sleep(300 * time.Millisecond)
				if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			},
			atLeast: 300 * time.Millisecond, atMost: 3 * time.Second,
		},
	}
	for shell, argv := range shells {
		for _, tt := range tests {
			t.Run(shell+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				h := startHolder(t, argv, tt.holdSeconds, "")
				tt.act(t, h)
				took := h.wait(t)
				if took < tt.atLeast || took > tt.atMost {
					t.Errorf("the holder exited after %s, want between %s and %s", took, tt.atLeast, tt.atMost)
				}
			})
		}
	}
}

// With busybox the holder waits without any process, and the release's write to the wake FIFO ends the wait
// at once: here each wait lasts 60 s, so only the FIFO can end it within the test's time.
func TestHolderWaitsWithoutProcessesAndWakesOnRelease(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal("no busybox on PATH: install busybox-static")
	}
	h := startHolder(t, []string{busybox, "sh", "-c"}, "600", "60")
	time.Sleep(500 * time.Millisecond)
	children, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(h.cmd.Process.Pid), "task", strconv.Itoa(h.cmd.Process.Pid), "children"))
	if err != nil {
		t.Fatal(err)
	}
	if c := strings.TrimSpace(string(children)); c != "" {
		t.Errorf("the waiting holder has child processes %s, want none", c)
	}
	if fi, err := os.Stat(h.wake); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the holder made no FIFO %s: %v", h.wake, err)
	}
	if b, err := os.ReadFile(h.pids); err != nil || strings.TrimSpace(string(b)) != "7" {
		t.Errorf("the holder recorded the test's processes as %q (%v), want the one test process, 7", b, err)
	}
	h.touchRelease(t)
	// What the release does (reports.ReleaseHolder): open the FIFO for reading and writing, write a line.
	f, err := os.OpenFile(h.wake, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n"); err != nil {
		t.Fatal(err)
	}
	took := h.wait(t)
	_ = f.Close()
	if took > 30*time.Second {
		t.Errorf("the holder exited %s after its start, want it woken by the FIFO long before its 60 s wait ended", took)
	}
}

// holder is the holder's script running locally against a fake /proc whose only process besides PID 1 is
// the test's (test: removing it ends the test).
type holder struct {
	cmd                 *exec.Cmd
	release, wake, test string
	pids                string // where it records the test's processes
	start               time.Time
}

func startHolder(t *testing.T, argv []string, holdSeconds, pollSeconds string) *holder {
	t.Helper()
	dir := t.TempDir()
	h := &holder{release: filepath.Join(dir, "release"), wake: filepath.Join(dir, "wake")}
	proc := filepath.Join(dir, "proc")
	// PID 1 is the pod's pause process: never the test's.
	for _, p := range []string{"1", "7"} {
		if err := os.MkdirAll(filepath.Join(proc, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h.test = filepath.Join(proc, "7")
	h.pids = filepath.Join(dir, "test-pids")
	script := strings.NewReplacer(ReleaseFile, h.release, WakeFile, h.wake, TestPidsFile, h.pids).Replace(holderScript)
	h.cmd = exec.CommandContext(t.Context(), argv[0], append(argv[1:], script)...)
	h.cmd.Env = append(os.Environ(), EnvHoldSeconds+"="+holdSeconds, envProcDir+"="+proc, envPollSeconds+"="+pollSeconds)
	h.start = time.Now()
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", argv[0], err)
	}
	return h
}

func (h *holder) touchRelease(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(h.release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the holder to exit 0 and returns how long it ran.
func (h *holder) wait(t *testing.T) time.Duration {
	t.Helper()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("the holder must exit 0 so the pod's phase follows the test, got: %v", err)
	}
	return time.Since(h.start)
}
