//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkFetchOneGiB copies a 1 GiB report out of one pod twice in the same run: with kubectl testrun fetch
// and with kubectl cp (from the holder, which has tar), and reports each one's throughput and the client's
// peak RSS. The goal for the plugin is a peak RSS under 64 MiB whatever the size: it streams.
//
//	go test -tags e2e -run XXX -bench FetchOneGiB -benchtime 1x ./test/e2e/
func BenchmarkFetchOneGiB(b *testing.B) {
	const size = 1 << 30
	ctx := context.Background()
	ns := "bench-fetch"
	_ = client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	for {
		if _, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	mustRun(b, kubectlBin, "create", "namespace", ns)
	defer func() { _ = client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) }()
	waitSA(b, ns)

	// The GitOps path: render the run, apply it with kubectl; nobody releases it, so the holder keeps the pod.
	job := mustRun(b, pluginBin, "run", "big", "-n", ns, "--image", testee, "--dry-run=client", "-o", "yaml",
		"--env", fmt.Sprintf("TESTEE_FILES=big.bin=random:%d", size))
	manifest := filepath.Join(b.TempDir(), "job.yaml")
	if err := os.WriteFile(manifest, []byte(job), 0o600); err != nil {
		b.Fatal(err)
	}
	mustRun(b, kubectlBin, "apply", "-f", manifest)
	run := strings.TrimSpace(mustRun(b, kubectlBin, "-n", ns, "get", "jobs", "-o", "jsonpath={.items[0].metadata.name}"))
	pod := ""
	for deadline := time.Now().Add(3 * time.Minute); ; {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "testrun.dev/name=" + run})
		if err == nil && len(pods.Items) == 1 {
			p := pods.Items[0]
			pod = p.Name
			for _, s := range p.Status.ContainerStatuses {
				if s.Name == "test" && s.State.Terminated != nil {
					goto ended
				}
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("the test did not write its 1 GiB within 3 minutes")
		}
		time.Sleep(time.Second)
	}
ended:
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(b.TempDir(), "fetch")
		took, rss := measure(b, pluginBin, "fetch", run, "-n", ns, "--to", out, "--release=false", "--quiet")
		checkSize(b, filepath.Join(out, "big.bin"), size)

		cp := filepath.Join(b.TempDir(), "cp.bin")
		cpTook, cpRSS := measure(b, kubectlBin, "cp", "-c", "holder", ns+"/"+pod+":/testrun/reports/big.bin", cp)
		checkSize(b, cp, size)

		mib := float64(size) / (1 << 20)
		b.ReportMetric(mib/took.Seconds(), "fetch-MiB/s")
		b.ReportMetric(float64(rss)/1024, "fetch-peak-rss-MiB")
		b.ReportMetric(mib/cpTook.Seconds(), "kubectl-cp-MiB/s")
		b.ReportMetric(float64(cpRSS)/1024, "kubectl-cp-peak-rss-MiB")
		b.ReportMetric(cpTook.Seconds()/took.Seconds(), "speedup-vs-kubectl-cp")
		if rss > 64*1024 {
			b.Errorf("kubectl testrun fetch peaked at %d MiB RSS for 1 GiB, over the 64 MiB goal", rss/1024)
		}
	}
}

func mustRun(b *testing.B, name string, args ...string) string {
	b.Helper()
	cmd := command(context.Background(), name, args...)
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}

// measure runs a command and returns how long it took and its peak resident set size in KiB.
func measure(b *testing.B, name string, args ...string) (time.Duration, int64) {
	b.Helper()
	cmd := command(context.Background(), name, args...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return time.Since(start), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

func checkSize(b *testing.B, path string, size int64) {
	b.Helper()
	st, err := os.Stat(path)
	if err != nil || st.Size() != size {
		b.Fatalf("%s: size %v (%v), want %d", path, st, err, size)
	}
}

func waitSA(b *testing.B, ns string) {
	for i := 0; i < 100; i++ {
		if _, err := client.CoreV1().ServiceAccounts(ns).Get(context.Background(), "default", metav1.GetOptions{}); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Fatalf("no default service account in %s", ns)
}
