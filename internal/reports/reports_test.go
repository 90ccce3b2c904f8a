package reports

import (
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"

	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/extract"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/fetch"
)

func TestSeveralReportDirsGetSubPathsAndAnAnnotation(t *testing.T) {
	s := runspec.Spec{Name: "multi-abcde", Image: "tests:1", ReportDir: "/reports", MoreReportDirs: []string{"/app/coverage/"}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	job := runspec.BuildJob(s)
	want := []corev1.VolumeMount{
		{Name: runspec.ReportsVolume, MountPath: "/reports", SubPath: "0"},
		{Name: runspec.ReportsVolume, MountPath: "/app/coverage", SubPath: "1"},
	}
	if diff := cmp.Diff(want, job.Spec.Template.Spec.Containers[0].VolumeMounts); diff != "" {
		t.Errorf("test container mounts (-want +got):\n%s", diff)
	}
	if got := job.Spec.Template.Annotations[runspec.AnnotationReportDirs]; got != "/reports,/app/coverage" {
		t.Errorf("annotation %s = %q", runspec.AnnotationReportDirs, got)
	}
	// One directory: the volume itself, no annotation (the layout every earlier run had).
	one := runspec.BuildJob(runspec.Spec{Name: "one-abcde", Image: "tests:1"})
	if m := one.Spec.Template.Spec.Containers[0].VolumeMounts[0]; m.SubPath != "" || m.MountPath != runspec.DefaultReportDir {
		t.Errorf("single report dir mount = %+v", m)
	}
	if _, ok := one.Spec.Template.Annotations[runspec.AnnotationReportDirs]; ok {
		t.Error("a single report dir must not be annotated")
	}
}

func TestReportDirsMustNotOverlap(t *testing.T) {
	for _, more := range [][]string{{"/reports"}, {"/reports/sub"}, {"/"}, {"relative"}} {
		s := runspec.Spec{Name: "x-abcde", Image: "tests:1", ReportDir: "/reports", MoreReportDirs: more}
		if err := s.Validate(); err == nil {
			t.Errorf("report dirs /reports and %q were accepted", more)
		}
	}
}

func TestArrangeLaysEachReportDirOutUnderItsPath(t *testing.T) {
	to := t.TempDir()
	for _, f := range []string{"0/junit.xml", "1/lcov.info", "2/x.txt"} {
		p := filepath.Join(to, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := []outcome.ReportFile{{Path: "0/junit.xml"}, {Path: "1/lcov.info"}, {Path: "2/x.txt"}}
	if err := arrange(to, "/reports,/app/coverage,/1", files); err != nil {
		t.Fatal(err)
	}
	want := []outcome.ReportFile{{Path: "reports/junit.xml"}, {Path: "app/coverage/lcov.info"}, {Path: "1/x.txt"}}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, f := range want {
		if b, err := os.ReadFile(filepath.Join(to, f.Path)); err != nil {
			t.Errorf("%s: %v", f.Path, err)
		} else if len(b) == 0 {
			t.Errorf("%s is empty", f.Path)
		}
	}
	// The annotation comes from the pod: it may not lead outside the destination.
	if err := arrange(t.TempDir(), "/reports,/..", nil); err == nil {
		t.Error("a report dir of /.. was laid out")
	}
}

func TestReaderSecurityFollowsANonRootTestUser(t *testing.T) {
	pod := func(container, podLevel *corev1.SecurityContext) *corev1.Pod {
		var ps *corev1.PodSecurityContext
		if podLevel != nil {
			ps = &corev1.PodSecurityContext{RunAsUser: podLevel.RunAsUser, RunAsGroup: podLevel.RunAsGroup}
		}
		return &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: ps, Containers: []corev1.Container{
			{Name: runspec.TestContainer, SecurityContext: container},
			{Name: runspec.HolderContainer, SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](65534)}},
		}}}
	}
	user := func(uid int64, gid *int64) *corev1.SecurityContext {
		return &corev1.SecurityContext{RunAsUser: ptr.To(uid), RunAsGroup: gid}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want *corev1.SecurityContext
	}{
		{"no user named: the default", pod(nil, nil), nil},
		{"root stays the default: never root", pod(user(0, nil), nil), nil},
		{"the test container's user and group", pod(user(1000, ptr.To[int64](3000)), nil), fetch.NonRootSecurity(1000, 3000)},
		{"the user's own group when none is named", pod(user(1000, nil), nil), fetch.NonRootSecurity(1000, 1000)},
		{"the pod's user", pod(nil, user(2000, ptr.To[int64](2001))), fetch.NonRootSecurity(2000, 2001)},
		{"the container's user over the pod's", pod(user(1000, nil), user(2000, ptr.To[int64](2001))), fetch.NonRootSecurity(1000, 2001)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, readerSecurity(tc.pod)); diff != "" {
				t.Errorf("readerSecurity (-want +got):\n%s", diff)
			}
		})
	}
}

// A passed test whose reports did not all come home exits 125; a failed test keeps its own code.
func TestReportsLostFailAPassedRun(t *testing.T) {
	tests := []struct {
		name     string
		code     int
		reports  *outcome.Reports
		wantCode int
		wantLost bool
	}{
		{"passed, reports whole", 0, &outcome.Reports{}, 0, false},
		{"passed, no --reports", 0, nil, 0, false},
		{"passed, a file unreadable", 0, &outcome.Reports{Error: "tar: ./private.txt: Permission denied"}, 125, true},
		{"failed, a file unreadable", 3, &outcome.Reports{Error: "tar: ./private.txt: Permission denied"}, 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &outcome.Result{ExitCode: tc.code, Reports: tc.reports}
			lost := r.FailIfReportsLost()
			if lost != tc.wantLost || r.ExitCode != tc.wantCode {
				t.Errorf("failIfReportsLost() = %v with exit code %d, want %v with %d", lost, r.ExitCode, tc.wantLost, tc.wantCode)
			}
			if lost && (r.Reason != outcome.ReasonReportsIncomplete || !strings.Contains(r.Message, "private.txt")) {
				t.Errorf("reason %q, message %q: want %s and the file named", r.Reason, r.Message, outcome.ReasonReportsIncomplete)
			}
		})
	}
}

// flakyPod plays a pod whose first tar breaks off half-way through a file (the API server restarted), as
// many times as cuts says, and then streams whole; the tar numbered refuse, if any, streams an entry outside
// the directory instead, which the extractor refuses.
type flakyPod struct {
	content string
	cuts    int
	refuse  int
	tars    int
}

func (p *flakyPod) Exec(_ context.Context, _, _, _ string, command []string, _ io.Reader, stdout, _ io.Writer) error {
	if command[0] != "tar" {
		fmt.Fprintf(stdout, "%x  ./junit.xml\n%x  ./big\n", sha256.Sum256([]byte("<testsuites/>")), sha256.Sum256([]byte(p.content)))
		return nil
	}
	p.tars++
	tw := tar.NewWriter(stdout)
	if p.tars == p.refuse {
		return tw.WriteHeader(&tar.Header{Name: "../outside", Mode: 0o644, Typeflag: tar.TypeReg})
	}
	for _, f := range []struct{ name, content string }{{"./junit.xml", "<testsuites/>"}, {"./big", p.content}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.content)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if f.name == "./big" && p.tars <= p.cuts {
			_, _ = io.WriteString(tw, f.content[:len(f.content)/2])
			return errors.New("error reading from error stream: unexpected EOF")
		}
		if _, err := io.WriteString(tw, f.content); err != nil {
			return err
		}
	}
	return tw.Close()
}

// A copy that broke off is copied again into the emptied directory, at most twice: it then verifies, or the
// reports fail with the first and the last error, naming the file that did not come home whole, which is not
// left behind.
func TestReportCopyBrokenOffIsRetriedTwiceAtMost(t *testing.T) {
	for _, tc := range []struct {
		cuts      int
		refuse    int
		wantTars  int
		wantFiles []string
		wantError []string
	}{
		{cuts: 1, wantTars: 2, wantFiles: []string{"big", "junit.xml"}},
		{cuts: 2, wantTars: 3, wantFiles: []string{"big", "junit.xml"}},
		{cuts: 3, wantTars: 3, wantFiles: []string{"junit.xml"}, wantError: []string{`entry "./big"`, "after 5000 of 10000 bytes", "copying again failed too"}},
		// A copy refused for what it streamed is not tried again.
		{cuts: 1, refuse: 2, wantTars: 2, wantError: []string{`entry "./big"`, "copying again failed too", "../outside"}},
	} {
		t.Run(fmt.Sprintf("%d cuts, refused %d", tc.cuts, tc.refuse), func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ci"}}
			client := fake.NewClientset(pod)
			exec := &flakyPod{content: strings.Repeat("x", 10000), cuts: tc.cuts, refuse: tc.refuse}
			var stderr strings.Builder
			c := &ReportCopier{
				Client: client, Fetcher: &fetch.Fetcher{Client: client, Exec: exec, Limits: extract.DefaultLimits()},
				Progress: &reporter.Lines{W: &stderr}, To: filepath.Join(t.TempDir(), "reports"),
				prepared: true, container: runspec.HolderContainer, dir: runspec.HolderReportsDir,
			}
			reports := c.Copy(t.Context(), pod)
			if exec.tars != tc.wantTars {
				t.Errorf("tar ran %d times, want %d", exec.tars, tc.wantTars)
			}
			var names []string
			entries, _ := os.ReadDir(c.To)
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if diff := cmp.Diff(tc.wantFiles, names); diff != "" {
				t.Errorf("files in the reports directory (-want +got):\n%s", diff)
			}
			for _, want := range tc.wantError {
				if !strings.Contains(reports.Error, want) {
					t.Errorf("reports error lacks %q: %s", want, reports.Error)
				}
			}
			if len(tc.wantError) == 0 && reports.Error != "" {
				t.Errorf("reports error = %s, want none after the retry", reports.Error)
			}
			for attempt := 2; attempt <= tc.wantTars; attempt++ {
				want := fmt.Sprintf("copying the reports broke off, copying them again (attempt %d of 3)", attempt)
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

// A fetch container that ended while the test still runs (its helper image lacks a tool) or whose image cannot
// be pulled is reported at once, naming --helper-image; one that starts or runs is not.
func TestBrokenFetchContainerIsSeenWhileTheTestRuns(t *testing.T) {
	const name = fetch.ContainerPrefix + "abcde"
	pod := func(state corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, EphemeralContainerStatuses: []corev1.ContainerStatus{{Name: name, State: state}}}}
	}
	tests := []struct {
		name  string
		state corev1.ContainerState
		want  string
	}{
		{"starting", corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}, ""},
		{"running", corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, ""},
		{"no tar", corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 127, Message: "the helper image has no tar\n"}},
			"the helper image has no tar"},
		{"cannot pull", corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "not found"}}, "--helper-image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &ReportCopier{container: name}
			err := c.Broken(pod(tc.state))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("broken() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--helper-image")):
				t.Errorf("broken() = %v, want an error containing %q and naming --helper-image", err, tc.want)
			}
		})
	}
	if err := (&ReportCopier{container: runspec.HolderContainer}).Broken(pod(corev1.ContainerState{})); err != nil {
		t.Errorf("broken() through the holder = %v, want nil: the holder's problems are Classify's", err)
	}
}

// The fetch container a run adds when its test starts lingers as long as the Job may live, so a long test
// keeps it; one added by fetch RUN lingers as long as the pod's holder holds.
func TestFetchContainerLingersLongEnough(t *testing.T) {
	spec := runspec.Spec{Name: "x", Image: "i:1", Timeout: 2 * time.Hour, Hold: 5 * time.Minute}
	job := runspec.BuildJob(spec)
	if got, want := RunLinger(spec), time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second; got != want {
		t.Errorf("runLinger = %s, want the Job's deadline, %s", got, want)
	}
	pod := &corev1.Pod{Spec: job.Spec.Template.Spec}
	if got, want := holdOf(pod), 5*time.Minute; got != want {
		t.Errorf("holdOf = %s, want %s", got, want)
	}
	if got := holdOf(&corev1.Pod{}); got != 0 {
		t.Errorf("holdOf of a pod without a holder = %s, want 0", got)
	}
}
