package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// p4 counts the API requests of one run of a 1 s and of a 60 s test from the plugin's -v=6 log, and reads
// the CPU time the holder container spends while the 60 s test runs from its cgroup on this machine.
func p4(ctx context.Context, e *env, _ int) ([]row, error) {
	ns, err := e.namespace(ctx, "p4")
	if err != nil {
		return nil, err
	}
	short, err := e.pluginRun(ctx, ns, "p4", testScript("1"), false, "-v=6")
	if err != nil {
		return nil, err
	}
	a := requests(short)
	logf("  1 s test: %d requests", len(a))
	holder := make(chan holderCPU, 1)
	go func() { holder <- e.holderCPU(ctx, ns) }()
	long, err := e.pluginRun(ctx, ns, "p4", testScript("60"), false, "-v=6")
	if err != nil {
		return nil, err
	}
	b := requests(long)
	h := <-holder
	logf("  60 s test: %d requests", len(b))
	var during []string
	for _, r := range b {
		if r.during {
			during = append(during, r.key)
		}
	}
	holderValue, holderNote := "n/a", h.err
	if h.err == "" {
		holderValue = fmt.Sprintf("%.1f ms/s", h.cpu.Seconds()*1000/h.over.Seconds())
		holderNote = fmt.Sprintf("%.0f ms of CPU over %.0f s of the test's sleep, read from its cgroup", h.cpu.Seconds()*1000, h.over.Seconds())
	}
	return []row{
		{id: "P4", what: "API requests of a run, 1 s test (-v=6)", value: strconv.Itoa(len(a)), note: "most made: " + countsNote(keys(a), 2)},
		{id: "P4", what: "API requests of a run, 60 s test", value: strconv.Itoa(len(b)), base: "÷ the 1 s test's", ratio: float64(len(b)) / float64(len(a)),
			goal: "≤ 1.1×", note: fmt.Sprintf("more than for 1 s: %s; made while the test ran (first to last line): %s", repeats(keys(a), keys(b)), countsNote(during, 1))},
		{id: "P4", what: "client CPU (user+system), 1 s / 60 s test", value: fmt.Sprintf("%.2f / %.2f s", short.cpu.Seconds(), long.cpu.Seconds()),
			note: fmt.Sprintf("peak RSS %d / %d MiB; wall %.1f / %.1f s", short.rss/1024, long.rss/1024, short.took.Seconds(), long.took.Seconds())},
		{id: "P4", what: "holder container's CPU while the 60 s test runs", value: holderValue, goal: "0", note: holderNote},
	}, nil
}

// request is one API request of a run: when it was answered, whether the test was running then, and a key
// naming it: the verb and the path without the namespace, with "watch" or "follow" when the request was one,
// "since" for a log resumed, and its label or field selector.
type request struct {
	at     time.Time
	during bool
	key    string
}

// requests reads the API requests of a run from its -v=6 log (client-go's "Response" lines).
func requests(r pluginRun) []request {
	var out []request
	for line := range strings.SplitSeq(r.stderr, "\n") {
		at, msg, ok := klogOf(line, r.exited)
		if !ok {
			continue
		}
		m := response.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		u, err := url.Parse(m[2])
		if err != nil {
			continue
		}
		q := u.Query()
		key := m[1] + " " + shorten(u.Path)
		for _, flag := range []string{"watch", "follow"} {
			if q.Get(flag) == "true" {
				key += " " + flag
			}
		}
		if q.Has("sinceTime") {
			key += " since"
		}
		if sel := q.Get("labelSelector") + q.Get("fieldSelector"); sel != "" && !strings.HasSuffix(u.Path, "/events") {
			key += " " + shorten(sel)
		}
		out = append(out, request{at: at, during: at.After(r.start) && at.Before(r.end), key: key})
	}
	return out
}

func keys(reqs []request) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.key
	}
	return out
}

// response matches client-go's -v=6 message for one API request.
var response = regexp.MustCompile(`"Response" verb="([A-Z]+)" url="([^"]+)"`)

// apiPrefix is the part of a path that names the API group and the namespace.
var apiPrefix = regexp.MustCompile(`^/apis?/(?:[^/]+/)?v1/(?:namespaces/[^/]+/)?`)

// runSuffix is the random part of generated names (the run's, its pod's, the fetch container's).
var runSuffix = regexp.MustCompile(`-[a-z0-9]{5}\b`)

func shorten(s string) string {
	return runSuffix.ReplaceAllString(apiPrefix.ReplaceAllString(s, ""), "-*")
}

// countsNote lists the requests seen at least least times, grouped, most frequent first.
func countsNote(reqs []string, least int) string {
	counts := map[string]int{}
	for _, r := range reqs {
		counts[r]++
	}
	var keys []string
	for k, n := range counts {
		if n >= least {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d× %s", counts[k], k))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// repeats lists the requests b made more often than a.
func repeats(a, b []string) string {
	count := func(reqs []string) map[string]int {
		m := map[string]int{}
		for _, r := range reqs {
			m[r]++
		}
		return m
	}
	ca, cb := count(a), count(b)
	var parts []string
	for k, v := range cb {
		if v > ca[k] {
			parts = append(parts, fmt.Sprintf("+%d %s", v-ca[k], k))
		}
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// holderCPU is the CPU time the holder container used over a stretch of the test's run.
type holderCPU struct {
	cpu, over time.Duration
	err       string
}

// holderCPU waits for the holder of the one run in ns to start, then reads its cgroup's CPU time 10 s and
// 45 s later, while the 60 s test sleeps.
func (e *env) holderCPU(ctx context.Context, ns string) holderCPU {
	pod, err := e.podOf(ctx, ns, "app.kubernetes.io/managed-by=kubectl-testrun")
	if err != nil {
		return holderCPU{err: err.Error()}
	}
	var id string
	for deadline := time.Now().Add(time.Minute); id == "" && time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		out, _ := e.k(ctx, "-n", ns, "get", "pod", pod, "-o", `jsonpath={.status.containerStatuses[?(@.name=="holder")].containerID}`)
		_, id, _ = strings.Cut(strings.TrimSpace(out), "://")
	}
	if id == "" {
		return holderCPU{err: "the holder did not start within a minute"}
	}
	time.Sleep(10 * time.Second)
	c1, t1, err := cgroupCPU(id)
	if err != nil {
		return holderCPU{err: err.Error()}
	}
	time.Sleep(35 * time.Second)
	c2, t2, err := cgroupCPU(id)
	if err != nil {
		return holderCPU{err: err.Error()}
	}
	return holderCPU{cpu: c2 - c1, over: t2.Sub(t1)}
}

// cgroupCPU reads the CPU time used so far by the container with this ID from its cgroup (v1 cpuacct or v2),
// as the kubelet's cgroupfs or systemd driver names it.
func cgroupCPU(id string) (time.Duration, time.Time, error) {
	for _, pattern := range []string{
		"/sys/fs/cgroup/cpuacct/kubepods*/*/*" + id + "*/cpuacct.usage",
		"/sys/fs/cgroup/cpuacct/kubepods*/*/*/*" + id + "*/cpuacct.usage",
		"/sys/fs/cgroup/kubepods*/*/*" + id + "*/cpu.stat",
		"/sys/fs/cgroup/kubepods*/*/*/*" + id + "*/cpu.stat",
	} {
		paths, _ := filepath.Glob(pattern)
		if len(paths) != 1 {
			continue
		}
		data, err := os.ReadFile(paths[0])
		now := time.Now()
		if err != nil {
			return 0, now, err
		}
		if filepath.Base(paths[0]) == "cpuacct.usage" {
			ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
			return time.Duration(ns), now, err
		}
		for line := range strings.SplitSeq(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
				us, err := strconv.ParseInt(v, 10, 64)
				return time.Duration(us) * time.Microsecond, now, err
			}
		}
	}
	return 0, time.Now(), fmt.Errorf("no cgroup of container %s on this machine (is the cluster local?)", id)
}
