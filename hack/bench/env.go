package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Images the local cluster has (hack/cluster/images.sh builds and loads them).
const (
	busybox = "docker.io/library/busybox:1.37"
	testee  = "testrun.local/testee:v1"
)

// env is what every benchmark needs: the cluster, the harness kubectl, the plugin built for this run.
type env struct {
	root       string // the repository
	kubeconfig string
	kubectl    string // the harness kubectl, at the cluster's version
	plugin     string // kubectl-testrun, built as releases are
	tmp        string // removed at the end
	selfRSS    int64  // this program's resident set in KiB when it starts a measured command

	mu         sync.Mutex
	namespaces []string
}

func setup(ctx context.Context) (*env, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	e := &env{root: root}
	logf("bringing the local cluster up (or reusing it)")
	out, err := e.script(ctx, "hack/cluster/cluster.sh", "up")
	if err != nil {
		return nil, err
	}
	var ok bool
	if e.kubeconfig, ok = strings.CutPrefix(lastLine(out), "KUBECONFIG="); !ok {
		return nil, fmt.Errorf("hack/cluster/cluster.sh up did not end with KUBECONFIG=…: %q", lastLine(out))
	}
	if out, err = e.script(ctx, "hack/cluster/build.sh"); err != nil {
		return nil, err
	}
	e.kubectl = filepath.Join(lastLine(out), "kubectl")
	if _, err = e.script(ctx, "hack/cluster/images.sh"); err != nil {
		return nil, err
	}
	if e.tmp, err = os.MkdirTemp("", "testrun-bench-"); err != nil {
		return nil, err
	}
	e.plugin = filepath.Join(e.tmp, "bin", "kubectl-testrun")
	logf("building the plugin")
	// The compile flags of make build and of the cluster's builds (hack/cluster/lib.sh): the same binary, and
	// the packages they compiled come from the build cache instead of being compiled again.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-gcflags=all=-dwarf=false -c=1", "-ldflags", "-s -w", "-o", e.plugin, "./cmd/kubectl-testrun")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if err := build.Run(); err != nil {
		e.close()
		return nil, fmt.Errorf("building the plugin: %w", err)
	}
	return e, nil
}

func (e *env) close() { _ = os.RemoveAll(e.tmp) }

// script runs a script of the repository and returns its stdout; its stderr goes to ours.
func (e *env) script(ctx context.Context, path string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(e.root, path), args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return string(out), nil
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("finding the repository with go list -m: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// command returns name with args set up for the cluster: its kubeconfig, the plugin first on PATH (so that
// "kubectl testrun" finds it), no colour.
func (e *env) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+e.kubeconfig,
		"PATH="+filepath.Dir(e.plugin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"NO_COLOR=1",
	)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// k runs the harness kubectl and returns its stdout.
func (e *env) k(ctx context.Context, args ...string) (string, error) {
	cmd := e.command(ctx, e.kubectl, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// sample is one measured command.
type sample struct {
	took   time.Duration
	rss    int64 // peak resident set in KiB
	cpu    time.Duration
	stdout string
	stderr string
	err    error
}

// measure runs cmd to its end, collecting its output unless cmd already has writers for it.
func (e *env) measure(cmd *exec.Cmd) sample {
	var stdout, stderr bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	e.resetPeakRSS()
	start := time.Now()
	err := cmd.Run()
	s := sample{took: time.Since(start), stdout: stdout.String(), stderr: stderr.String(), err: err}
	if err != nil {
		s.err = fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, tail(s.stderr, 5))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.rss = ru.Maxrss
		s.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return s
}

// resetPeakRSS resets this process' peak resident set to its current one. A child started through vfork
// (as os/exec does) inherits its parent's peak in its own ru_maxrss, so that the peak measured for a small
// client is never below this program's; the reset keeps that floor at this program's current size, which
// is recorded and printed with the table.
func (e *env) resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	if kib := statusKiB("VmRSS"); kib > 0 {
		e.mu.Lock()
		e.selfRSS = max(e.selfRSS, kib)
		e.mu.Unlock()
	}
}

// statusKiB reads a "kB" field of /proc/self/status.
func statusKiB(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib
		}
	}
	return 0
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// namespace creates a namespace for one benchmark and waits for its default service account; it is deleted
// at the end (deleteNamespaces).
func (e *env) namespace(ctx context.Context, id string) (string, error) {
	ns := fmt.Sprintf("bench-%s-%05d", strings.ToLower(id), rand.IntN(100000))
	if _, err := e.k(ctx, "create", "namespace", ns); err != nil {
		return "", err
	}
	e.mu.Lock()
	e.namespaces = append(e.namespaces, ns)
	e.mu.Unlock()
	_, err := e.k(ctx, "-n", ns, "wait", "--for=create", "serviceaccount/default", "--timeout=60s")
	return ns, err
}

// deleteNamespaces deletes every namespace made by namespace and waits until they are gone.
func (e *env) deleteNamespaces() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, ns := range e.namespaces {
		logf("deleting namespace %s", ns)
		if _, err := e.k(ctx, "delete", "namespace", ns, "--wait=true", "--timeout=3m"); err != nil {
			logf("%v", err)
		}
	}
	e.namespaces = nil
}

// podOf waits for the one pod with the label selector in ns and returns its name.
func (e *env) podOf(ctx context.Context, ns, selector string) (string, error) {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		out, err := e.k(ctx, "-n", ns, "get", "pods", "-l", selector, "-o", "jsonpath={.items[*].metadata.name}")
		if names := strings.Fields(out); err == nil && len(names) == 1 {
			return names[0], nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("no single pod with labels %s in namespace %s after 2 minutes", selector, ns)
}

// uptime reads the boot-time clock the way a test container can without forking (/proc/uptime, 10 ms steps):
// the containers share this machine's kernel, so stamps printed in a pod and taken here compare.
func uptime() float64 {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	return v
}

// booted is when this machine booted by the wall clock (to 10 ms), to turn uptimes into wall-clock times.
var booted = time.Now().UnixNano() - int64(uptime()*1e9)

// wallOf turns an uptime into the wall-clock time.
func wallOf(up float64) time.Time { return time.Unix(0, booted+int64(up*1e9)) }

// stampedLine is a line of a command's output with the uptime at which it arrived.
type stampedLine struct {
	text    string
	arrived float64
}

// stampLines reads r line by line, stamping each line as it arrives, until r ends.
func stampLines(r io.Reader) []stampedLine {
	var out []stampedLine
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		out = append(out, stampedLine{sc.Text(), uptime()})
	}
	return out
}

// runStamped runs cmd, stamping every line of its stdout as it arrives.
func (e *env) runStamped(cmd *exec.Cmd) (sample, []stampedLine) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return sample{err: err}, nil
	}
	cmd.Stdout = pw
	done := make(chan []stampedLine)
	go func() { done <- stampLines(pr) }()
	s := e.measure(cmd)
	_ = pw.Close()
	lines := <-done
	_ = pr.Close()
	return s, lines
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

// machine describes this machine for the table's header.
func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := "?"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(string(data))
		if len(f) > 1 {
			kib, _ := strconv.ParseInt(f[1], 10, 64)
			mem = fmt.Sprintf("%.0f GiB", float64(kib)/(1<<20))
		}
	}
	return fmt.Sprintf("%d cores (%s), %s RAM, %s/%s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH)
}
