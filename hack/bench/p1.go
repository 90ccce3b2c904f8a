package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// testScript is the test of P1, P4 and P5, for busybox's sh: it prints a line, writes a 23-byte junit.xml
// into its report directory, sleeps, and prints a last line. Both lines carry the uptime at which they were
// printed (read without forking), so that the harness can tell when the test started and ended.
func testScript(sleep string) string {
	return `read up _ </proc/uptime; echo "start $up"
d=${TESTRUN_REPORT_DIR:-/reports}; mkdir -p "$d"
printf '<testsuite tests="0"/>\n' >"$d/junit.xml"
sleep ` + sleep + `
read up _ </proc/uptime; echo "end $up"
`
}

// junitSize is the size of the junit.xml testScript writes.
const junitSize = 23

// way is one way of running the test, measured against the others.
type way struct {
	name string
	run  func(ctx context.Context, i int) (time.Duration, error)
}

// interleave runs every way n times, one of each per round, starting each round with the next way so that
// no way always runs first; it returns each way's durations and errors.
func interleave(ctx context.Context, n int, ways []way) ([][]time.Duration, [][]error) {
	took := make([][]time.Duration, len(ways))
	errs := make([][]error, len(ways))
	for i := range n {
		for j := range ways {
			k := (i + j) % len(ways)
			if ctx.Err() != nil {
				return took, errs
			}
			d, err := ways[k].run(ctx, i)
			logf("  %s #%d: %s %v", ways[k].name, i+1, d.Round(time.Millisecond), errOrOK(err))
			if err == nil {
				took[k] = append(took[k], d)
			}
			errs[k] = append(errs[k], err)
		}
	}
	return took, errs
}

func errOrOK(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

func p1(ctx context.Context, e *env, n int) ([]row, error) {
	ns, err := e.namespace(ctx, "p1")
	if err != nil {
		return nil, err
	}
	script := testScript("1")
	var tails []float64 // from the test's end to the plugin's exit
	var left []string
	ways := []way{
		{"kubectl testrun run", func(ctx context.Context, i int) (time.Duration, error) {
			r, err := e.pluginRun(ctx, ns, "p1", script, true)
			if err == nil {
				tails = append(tails, r.exited.Sub(r.end).Seconds())
				left = append(left, e.leftBehind(ctx, ns))
			}
			return r.took, err
		}},
		{"floor", func(ctx context.Context, i int) (time.Duration, error) {
			return e.floor(ctx, ns, fmt.Sprintf("floor-%d", i), script)
		}},
		{"seed script", func(ctx context.Context, i int) (time.Duration, error) {
			return e.seedScript(ctx, ns, fmt.Sprintf("seed-%d", i), script)
		}},
		{"careful script", func(ctx context.Context, i int) (time.Duration, error) {
			return e.carefulScript(ctx, ns, fmt.Sprintf("careful-%d", i), script)
		}},
	}
	took, errs := interleave(ctx, n, ways)
	run := median(seconds(took[0]))
	rows := []row{{id: "P1", what: "`kubectl testrun run --reports DIR` (live logs, report verified, Job deleted)",
		value: fmt.Sprintf("%.2f s", run), note: join(spread("%.2f", seconds(took[0])), failures(errs[0]))}}
	bases := []struct{ what, goal string }{
		{"floor: `kubectl run` a bare pod + `kubectl wait` phase=Succeeded (no logs, report or cleanup)", "≤ 1.0×"},
		{"seed script: Job with `sleep 100`, `exec test -f` every 3 s, `exec cat`, delete", "≤ 0.85×"},
		{"careful script: holder container, `logs -f`, `wait`, `exec cat`, release, foreground delete", ""},
	}
	for j, b := range bases {
		m := median(seconds(took[j+1]))
		rows = append(rows, row{id: "P1", what: b.what, value: fmt.Sprintf("%.2f s", m),
			base: "run ÷ this", ratio: run / m, goal: b.goal, note: join(spread("%.2f", seconds(took[j+1])), failures(errs[j+1]))})
	}
	rows = append(rows, row{id: "P1", what: "run: from the test's last line (its own stamp) to the plugin's exit",
		value: fmt.Sprintf("%.2f s", median(tails)), note: join(spread("%.2f", tails), "objects of the run right after exit: "+strings.Join(left, ", "))})
	return rows, nil
}

func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

// pluginRun is one run of testScript by the plugin.
type pluginRun struct {
	sample
	start, end, exited time.Time // when the test printed its first and last lines (its own stamps), when the plugin exited
}

// pluginRun runs the test with kubectl testrun run --reports, through kubectl as users do or, to measure
// the plugin's own resources, directly, and checks what it brought: both lines on stdout, the 23-byte
// junit.xml, exit code 0.
func (e *env) pluginRun(ctx context.Context, ns, name, script string, viaKubectl bool, flags ...string) (pluginRun, error) {
	dir, err := os.MkdirTemp(e.tmp, "reports-")
	if err != nil {
		return pluginRun{}, err
	}
	defer os.RemoveAll(dir)
	args := append([]string{"run", name, "-n", ns, "--image", busybox, "--reports", filepath.Join(dir, "r")}, flags...)
	args = append(args, "--", "sh", "-c", script)
	cmd := e.command(ctx, e.plugin, args...)
	if viaKubectl {
		cmd = e.command(ctx, e.kubectl, append([]string{"testrun"}, args...)...)
	}
	s, lines := e.runStamped(cmd)
	r := pluginRun{sample: s, exited: time.Now()}
	if s.err != nil {
		return r, s.err
	}
	start, started := stampOf(lines, "start")
	end, ended := stampOf(lines, "end")
	if !started || !ended {
		return r, fmt.Errorf("kubectl testrun run printed no start or end line: %v", lines)
	}
	r.start, r.end = wallOf(start), wallOf(end)
	return r, checkFile(filepath.Join(dir, "r", "junit.xml"), junitSize)
}

// stampOf returns the uptime the test printed on its line starting with word.
func stampOf(lines []stampedLine, word string) (float64, bool) {
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l.text, word+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

func checkFile(path string, size int64) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() != size {
		return fmt.Errorf("%s has %d bytes, want %d", path, st.Size(), size)
	}
	return nil
}

// leftBehind lists what of the plugin's runs is still in ns, right after it exited.
func (e *env) leftBehind(ctx context.Context, ns string) string {
	out, err := e.k(ctx, "-n", ns, "get", "jobs,pods", "-l", "app.kubernetes.io/managed-by=kubectl-testrun", "-o", "name")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(out); len(f) > 0 {
		return strings.Join(f, " ")
	}
	return "none"
}

// floor is the least a script can do: create a bare pod and wait until it succeeded. No logs, no report, no
// cleanup.
func (e *env) floor(ctx context.Context, ns, name, script string) (time.Duration, error) {
	start := time.Now()
	if _, err := e.k(ctx, "-n", ns, "run", name, "--image", busybox, "--restart=Never", "--command", "--", "sh", "-c", script); err != nil {
		return 0, err
	}
	_, err := e.k(ctx, "-n", ns, "wait", "pod/"+name, "--for=jsonpath={.status.phase}=Succeeded", "--timeout=2m")
	return time.Since(start), err
}

// seedScript is the script kubectl testrun replaces: the test runs in a Job and then sleeps, the script
// polls for the report every 3 s with exec, copies it with exec cat and deletes the Job.
func (e *env) seedScript(ctx context.Context, ns, name, script string) (time.Duration, error) {
	job := jobManifest(name, container("test", script+"touch /reports/done\nsleep 100\n"))
	start := time.Now()
	if err := e.create(ctx, ns, job); err != nil {
		return 0, err
	}
	for {
		if _, err := e.k(ctx, "-n", ns, "exec", "job/"+name, "--", "test", "-f", "/reports/done"); err == nil {
			break
		}
		if time.Since(start) > 2*time.Minute {
			return 0, fmt.Errorf("job %s: no /reports/done after 2 minutes", name)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
	report, err := e.k(ctx, "-n", ns, "exec", "job/"+name, "--", "cat", "/reports/junit.xml")
	if err == nil && len(report) != junitSize {
		err = fmt.Errorf("job %s: junit.xml has %d bytes, want %d", name, len(report), junitSize)
	}
	if err != nil {
		return 0, err
	}
	_, err = e.k(ctx, "-n", ns, "delete", "job", name)
	return time.Since(start), err
}

// carefulScript does with kubectl what the plugin does: the test's pod has a holder container that keeps it
// running until released, the script streams the logs, waits for the test container's end by its status,
// copies the report, releases the holder and deletes the Job, waiting until its pod is gone.
func (e *env) carefulScript(ctx context.Context, ns, name, script string) (time.Duration, error) {
	holder := container("holder", "until [ -e /reports/.release ]; do sleep 0.2; done\n")
	job := jobManifest(name, container("test", script), holder)
	start := time.Now()
	if err := e.create(ctx, ns, job); err != nil {
		return 0, err
	}
	selector := "job-name=" + name
	steps := [][]string{
		{"wait", "pod", "-l", selector, "--for=create", "--timeout=2m"},
		{"logs", "-f", "job/" + name, "-c", "test"},
		{"wait", "pod", "-l", selector, `--for=jsonpath={.status.containerStatuses[?(@.name=="test")].state.terminated.reason}=Completed`, "--timeout=2m"},
		{"exec", "job/" + name, "-c", "holder", "--", "cat", "/reports/junit.xml"},
		{"exec", "job/" + name, "-c", "holder", "--", "touch", "/reports/.release"},
		{"delete", "job", name, "--cascade=foreground"},
	}
	for _, step := range steps {
		out, err := e.k(ctx, append([]string{"-n", ns}, step...)...)
		if err != nil {
			return 0, err
		}
		if step[0] == "logs" && !strings.Contains(out, "end ") {
			return 0, fmt.Errorf("job %s: kubectl logs -f printed no end line: %q", name, out)
		}
		if step[len(step)-1] == "/reports/junit.xml" && len(out) != junitSize {
			return 0, fmt.Errorf("job %s: junit.xml has %d bytes, want %d", name, len(out), junitSize)
		}
	}
	return time.Since(start), nil
}

// container is a busybox container running script, with the reports volume at /reports.
func container(name, script string) map[string]any {
	return map[string]any{
		"name": name, "image": busybox, "command": []string{"sh", "-c", script},
		"volumeMounts": []any{map[string]any{"name": "reports", "mountPath": "/reports"}},
	}
}

// jobManifest is a Job whose pod has containers and an emptyDir named reports.
func jobManifest(name string, containers ...map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"backoffLimit": 0,
			"template": map[string]any{"spec": map[string]any{
				"restartPolicy": "Never",
				"containers":    containers,
				"volumes":       []any{map[string]any{"name": "reports", "emptyDir": map[string]any{}}},
			}},
		},
	}
}

// create creates the object with kubectl create -f -.
func (e *env) create(ctx context.Context, ns string, obj any) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = e.createFrom(ctx, ns, string(data))
	return err
}

// createFrom creates the objects of a manifest with kubectl create -f - and returns their names.
func (e *env) createFrom(ctx context.Context, ns, manifest string) ([]string, error) {
	cmd := e.command(ctx, e.kubectl, "-n", ns, "create", "-f", "-", "-o", "name")
	cmd.Stdin = strings.NewReader(manifest)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("kubectl create: %w: %s", err, out)
	}
	var names []string
	for _, f := range strings.Fields(string(out)) {
		names = append(names, f[strings.LastIndex(f, "/")+1:])
	}
	return names, nil
}
