package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runwatch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
)

// shard is one shard of a sharded run, as the Runner that follows it knows it.
type shard struct {
	index int
	// started is when the run's Job was created.
	started time.Time
	// onEnd is told how the shard ended as soon as its follower knows it.
	onEnd func(index int, o outcome.Outcome)
}

// ended tells the sharded run how the shard ended; nothing for a run of one pod.
func (s *shard) ended(o outcome.Outcome) {
	if s != nil && s.onEnd != nil {
		s.onEnd(s.index, o)
	}
}

// watch watches the run of spec: only the shard's pods for a shard.
func (s *shard) watch(ctx context.Context, client kubernetes.Interface, spec runspec.Spec) (*runwatch.Watch, error) {
	if s == nil {
		return runwatch.WatchRun(ctx, client, spec.Namespace, spec.Name)
	}
	return runwatch.WatchShard(ctx, client, spec.Namespace, spec.Name, s.index)
}

// ShardLabel names shard i of n as its output lines are prefixed: "shard 1/3" is the shard of index 1 (the
// second) of three. Shards are counted from 0 everywhere, as TESTRUN_SHARD_INDEX, the pod's completion index
// and the pod's name count them.
func ShardLabel(i, n int) string { return fmt.Sprintf("shard %d/%d", i, n) }

// ShardDir is where the reports of shard i come home under the run's report directory dir.
func ShardDir(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("shard-%d", i)) }

// MergedJUnit is the name of the JUnit report of a sharded run that holds every shard's cases, in the
// run's report directory.
const MergedJUnit = "junit.xml"

// ReasonFailFast is the reason of a shard stopped because another one failed (--fail-fast).
const ReasonFailFast = "FailFast"

// errFailFast is the cause of the cancellation --fail-fast makes when a shard failed.
type errFailFast struct{ shard, count, code int }

func (e errFailFast) Error() string {
	return fmt.Sprintf("%s failed with exit code %d, and --fail-fast stops the other shards", ShardLabel(e.shard, e.count), e.code)
}

// RunShards runs the sharded spec: it creates its one Indexed Job, follows every shard as a run of its own
// (RunParallel: its lines prefixed "[shard i/n] ", its fail-fast reasons and diagnostics, its reports
// through its own holder and fetch container into ShardDir(r.Reports, i)), merges the shards' JUnit reports
// into r.Reports/junit.xml, and deletes the Job once every shard ended (unless r.Keep). newRunner returns
// shard i's Runner and Reporter as for RunParallel. With failFast, the first shard that fails stops the
// others.
//
// The run's exit code is 0 when every shard passed, else the code of the failing shard of the lowest
// index, not counting the shards --fail-fast stopped; an interrupt's code when interrupted.
func (r *Runner) RunShards(ctx context.Context, spec runspec.Spec, failFast bool, out, errOut io.Writer, newRunner func(i int, logs, messages io.Writer) (*Runner, reporter.Reporter)) (*outcome.Result, error) {
	started := time.Now()
	n := spec.ShardCount()
	job, err := CreateJob(ctx, r.Client, spec)
	if err != nil {
		return nil, err
	}
	r.Progress.Printf("created job %s in namespace %s: %d shards, %d at a time", job.Name, job.Namespace, n, spec.EffectiveMaxParallel())

	shardCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var once sync.Once
	onEnd := func(i int, o outcome.Outcome) {
		if failFast && o.ExitCode != exitcode.OK && !o.Interrupted() {
			once.Do(func() { stop(errFailFast{shard: i, count: n, code: o.ExitCode}) })
		}
	}
	specs, labels := make([]runspec.Spec, n), make([]string, n)
	for i := range n {
		specs[i], labels[i] = spec, ShardLabel(i, n)
	}
	ended := RunParallel(shardCtx, specs, labels, out, errOut, func(i int, logs, messages io.Writer) (*Runner, reporter.Reporter) {
		sr, rep := newRunner(i, logs, messages)
		sr.shard = &shard{index: i, started: started, onEnd: onEnd}
		if r.Reports != "" {
			sr.Reports = ShardDir(r.Reports, i)
		}
		return sr, rep
	})
	slices.SortFunc(ended, func(a, b Ended) int { return a.Index - b.Index })

	var ff errFailFast
	stoppedByFailFast := ctx.Err() == nil && errors.As(context.Cause(shardCtx), &ff)
	result := mergeShards(ctx, spec, started, ended, stoppedByFailFast)
	if r.Reports != "" {
		shardReports := make([]*outcome.Reports, len(ended))
		for i, e := range ended {
			if e.Result != nil {
				shardReports[i] = e.Result.Reports
			}
		}
		result.Reports = MergeShardReports(r.Reports, shardReports, r.Progress)
		if result.FailIfReportsLost() {
			r.Progress.Warnf("%s", result.Message)
		}
	}
	interrupted := slices.ContainsFunc(ended, func(e Ended) bool { return e.Result == nil || e.Result.Interrupted })
	if stoppedByFailFast && r.Keep {
		r.suspend(ctx, spec)
	}
	r.cleanup(ctx, spec, interrupted)
	return result, nil
}

// suspend stops the shards still running of a kept sharded run that --fail-fast stopped: it suspends the
// Job, so the Job controller deletes its active pods (each gets the grace period) and starts no other, while
// the Job and the pods of the shards that ended stay for inspection. It waits, within the grace period and a
// margin, until no pod of the run runs any more.
func (r *Runner) suspend(ctx context.Context, spec runspec.Spec) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), spec.EffectiveGrace()+interruptedCleanupMargin)
	defer cancel()
	patch := []byte(`{"spec":{"suspend":true}}`)
	if _, err := r.Client.BatchV1().Jobs(spec.Namespace).Patch(cctx, spec.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		r.Progress.Warnf("suspending job %s to stop its other shards (--keep with --fail-fast) failed: %v; delete it with kubectl testrun delete %s -n %s", spec.Name, err, spec.Name, spec.Namespace)
		return
	}
	stopped := r.untilRunPods(cctx, spec, func(_ context.Context, pods []corev1.Pod) bool {
		return !slices.ContainsFunc(pods, func(p corev1.Pod) bool { return !outcome.PodFinished(&p) })
	})
	if stopped {
		r.Progress.Printf("suspended job %s (--keep with --fail-fast): its other shards were stopped, the Job and the ended shards' pods are kept", spec.Name)
		return
	}
	r.Progress.Warnf("suspended job %s (--keep with --fail-fast): its other shards are still stopping and will be removed by the cluster", spec.Name)
}

// mergeShards returns the result of the sharded run of spec from its shards' (ended, by index).
func mergeShards(ctx context.Context, spec runspec.Spec, started time.Time, ended []Ended, stoppedByFailFast bool) *outcome.Result {
	result := outcome.NewResult(spec, outcome.Outcome{TestEnded: true}, nil, started)
	result.Shards = make([]outcome.ShardResult, 0, len(ended))
	first := -1 // the failing shard of the lowest index
	for _, e := range ended {
		s := outcome.ShardResult{Index: e.Index, ExitCode: e.Code, Phase: outcome.PhaseError}
		if e.Err != nil {
			s.Reason, s.Message = "Error", e.Err.Error()
		}
		if res := e.Result; res != nil {
			s.Phase, s.Reason, s.Message, s.Reports, s.Diagnostics = res.Phase, res.Reason, res.Message, res.Reports, res.Diagnostics
			s.CompletionTime = res.CompletionTime
			if len(res.Pods) > 0 {
				s.Pod = res.Pods[0].Name
				result.Pods = append(result.Pods, res.Pods...)
			}
			if stoppedByFailFast && res.Interrupted {
				s.Phase, s.Reason, s.Message = outcome.PhaseInterrupted, ReasonFailFast, "stopped because another shard failed (--fail-fast)"
			}
		}
		if s.ExitCode != exitcode.OK && s.Reason != ReasonFailFast && first < 0 {
			first = len(result.Shards)
		}
		result.Shards = append(result.Shards, s)
	}
	switch {
	case ctx.Err() != nil:
		result.Phase, result.Interrupted, result.ExitCode = outcome.PhaseInterrupted, true, exitcode.Code(ctx, nil)
		result.Reason, result.Message = outcome.ReasonInterrupted, context.Cause(ctx).Error()
	case first >= 0:
		f := result.Shards[first]
		result.Phase, result.ExitCode, result.Reason = f.Phase, f.ExitCode, f.Reason
		result.Message = fmt.Sprintf("%s: %s", ShardLabel(f.Index, len(ended)), f.Message)
		if f.Message == "" {
			result.Message = fmt.Sprintf("%s failed with exit code %d", ShardLabel(f.Index, len(ended)), f.ExitCode)
		}
	}
	for i := range result.Shards {
		if result.Shards[i].Reason == ReasonFailFast {
			// A stopped shard did not fail by itself; it ends with the run.
			result.Shards[i].ExitCode = result.ExitCode
		}
	}
	// The run ended when its last shard did; when no shard's end is known, when it was seen to end.
	var last *metav1.Time
	for _, s := range result.Shards {
		if s.CompletionTime != nil && (last == nil || last.Before(s.CompletionTime)) {
			last = s.CompletionTime
		}
	}
	if last != nil {
		result.CompletionTime = last
	}
	return result
}

// MergeShardReports merges the JUnit reports of every shard, come home into ShardDir(dir, i), into one
// report in dir and returns the run's reports: every shard's files (shards[i], nil for none) under its
// directory, the merged report, its totals, and what went wrong. run and fetch of a sharded run use it.
func MergeShardReports(dir string, shards []*outcome.Reports, progress reporter.Reporter) *outcome.Reports {
	got := &outcome.Reports{Dir: dir, Files: []outcome.ReportFile{}}
	var inputs []junit.Part
	var problems []string
	for i, reports := range shards {
		shardDir := ShardDir(dir, i)
		rel := filepath.Base(shardDir)
		if reports != nil {
			for _, f := range reports.Files {
				f.Path = rel + "/" + f.Path
				got.Files = append(got.Files, f)
			}
			if msg := reports.Error; msg != "" {
				problems = append(problems, ShardLabel(i, len(shards))+": "+msg)
			}
		}
		files, err := junit.Find(shardDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			problems = append(problems, err.Error())
		}
		inputs = append(inputs, junit.Part{Name: rel, Dir: shardDir, Files: files})
	}
	if err := writeMerged(got, inputs, progress); err != nil {
		problems = append(problems, "merging the shards' junit reports: "+err.Error())
	}
	got.Error = strings.Join(problems, "; ")
	return got
}

// writeMerged writes the merged JUnit report of inputs into got.Dir (each suite named after its shard, as
// "shard-1/<suite>") and records it and its totals, read back from it, in got.
func writeMerged(got *outcome.Reports, inputs []junit.Part, progress reporter.Reporter) error {
	if !slices.ContainsFunc(inputs, func(in junit.Part) bool { return len(in.Files) > 0 }) {
		return nil
	}
	path := filepath.Join(got.Dir, MergedJUnit)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	hash := sha256.New()
	counted := &countingWriter{w: io.MultiWriter(f, hash)}
	err = junit.Merge(counted, inputs)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var summary junit.Summary
	if err == nil {
		summary, err = junit.Summarize(got.Dir, []string{MergedJUnit})
	}
	if err != nil {
		_ = os.Remove(path)
		return err
	}
	got.JUnit = &summary
	got.Files = append(got.Files, outcome.ReportFile{Path: MergedJUnit, Size: counted.n, SHA256: hex.EncodeToString(hash.Sum(nil))})
	progress.Report(fmt.Sprintf("merged %d shards' reports into %s: %s", len(inputs), path, summary.Line()))
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

// Write implements io.Writer.
func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
