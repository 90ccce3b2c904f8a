package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// event is one moment of a run's timeline.
type event struct {
	at   time.Time
	what string
}

// klogLine matches a klog header: its time of day and the rest.
var klogLine = regexp.MustCompile(`^[IWE]\d{4} (\d\d:\d\d:\d\d\.\d{6}) +\d+ [^\]]+\] (.*)$`)

// timeline runs P1's test once with -v=6 and prints, relative to the start, when each API request was
// answered (klog's own stamps), when each line of the plugin's progress and of the test's output arrived,
// and when the test printed its lines (its own stamps). The table gets the stretches between the test's end
// and the plugin's exit.
func timeline(ctx context.Context, e *env, _ int) ([]row, error) {
	ns, err := e.namespace(ctx, "t1")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(e.tmp, "t1-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := e.command(ctx, e.plugin, "run", "t1", "-n", ns, "--image", busybox, "--reports", dir+"/r", "-v=6", "--", "sh", "-c", testScript("1"))
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = stderrW
	errLines := make(chan []stampedLine)
	go func() { errLines <- stampLines(stderrR) }()
	start := time.Now()
	s, outLines := e.runStamped(cmd)
	exited := time.Now()
	_ = stderrW.Close()
	stderr := <-errLines
	if s.err != nil {
		return nil, s.err
	}
	events := []event{{start, "plugin started"}, {exited, "plugin exited"}}
	for _, l := range outLines {
		events = append(events, event{wallOf(l.arrived), "stdout: " + l.text})
		if word, stamp, ok := strings.Cut(l.text, " "); ok && (word == "start" || word == "end") {
			var up float64
			if _, err := fmt.Sscan(stamp, &up); err == nil {
				events = append(events, event{wallOf(up), "the test printed " + word})
			}
		}
	}
	for _, l := range stderr {
		if at, msg, ok := klogOf(l.text, start); ok {
			if what := requestOf(msg); what != "" {
				events = append(events, event{at, what})
			}
			continue
		}
		events = append(events, event{wallOf(l.arrived), "stderr: " + l.text})
	}
	slices.SortStableFunc(events, func(a, b event) int { return a.at.Compare(b.at) })
	fmt.Printf("\nTimeline of one run of P1's test (kubectl testrun run --reports -v=6), seconds from the start:\n\n")
	for _, ev := range events {
		fmt.Printf("  %6.3f  %s\n", ev.at.Sub(start).Seconds(), ev.what)
	}
	return stretches(events, start), nil
}

// klogOf splits a klog line into its time (on the day of near) and its message.
func klogOf(line string, near time.Time) (time.Time, string, bool) {
	m := klogLine.FindStringSubmatch(line)
	if m == nil {
		return time.Time{}, "", false
	}
	t, err := time.ParseInLocation("15:04:05.000000", m[1], time.Local)
	if err != nil {
		return time.Time{}, "", false
	}
	y, mo, d := near.Date()
	return time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.Local), m[2], true
}

// requestOf shortens a -v=6 log message to "VERB path (what)" for a request, and "" for anything else.
func requestOf(msg string) string {
	if strings.HasPrefix(msg, `"Waited before sending request"`) {
		return "client-side throttling: " + msg
	}
	m := response.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	u, err := url.Parse(m[2])
	if err != nil {
		return ""
	}
	what := m[1] + " " + u.Path
	q := u.Query()
	switch {
	case q.Get("watch") == "true":
		what += " (watch)"
	case q.Has("command"):
		command := strings.Join(q["command"], " ")
		if len(command) > 80 {
			command = command[:80] + "…"
		}
		what += " (exec " + command + ")"
	case q.Get("follow") == "true":
		what += " (follow"
		if q.Has("sinceTime") {
			what += " since " + q.Get("sinceTime")
		}
		what += ")"
	}
	return what
}

// stretches turns the timeline into the table's rows: from the test's end to each step the plugin takes
// (each found by the first event containing all of its words).
func stretches(events []event, start time.Time) []row {
	find := func(words ...string) (time.Time, bool) {
		for _, ev := range events {
			if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(ev.what, w) }) {
				return ev.at, true
			}
		}
		return time.Time{}, false
	}
	end, ok := find("the test printed end")
	if !ok {
		return []row{{id: "T1", what: "timeline", value: "?", note: "the test's end line did not arrive"}}
	}
	rows := []row{{id: "T1", what: "the test's end, from the plugin's start", value: fmt.Sprintf("%.2f s", end.Sub(start).Seconds())}}
	for _, step := range []struct {
		what  string
		words []string
	}{
		{"its last line on stdout", []string{"stdout: end"}},
		{"the plugin says the test exited", []string{"stderr: testrun: test exited"}},
		{"the plugin starts copying (exec tar)", []string{"(exec tar "}},
		{"the reports are verified on disk", []string{"stderr: testrun: copied"}},
		{"the holder is released (exec touch)", []string{"(exec", "touch"}},
		{"the plugin deletes the Job", []string{"DELETE /apis/batch/v1/"}},
		{"the plugin says the Job is deleted", []string{"stderr: testrun: deleted"}},
		{"the plugin exits", []string{"plugin exited"}},
	} {
		value := "?"
		if at, ok := find(step.words...); ok {
			value = fmt.Sprintf("+%.2f s", at.Sub(end).Seconds())
		}
		rows = append(rows, row{id: "T1", what: "test's end → " + step.what, value: value})
	}
	return rows
}
