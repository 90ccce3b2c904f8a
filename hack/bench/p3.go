package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// linesScript prints "line 0" as soon as the container starts, then a line every 0.1 s for 3 s, each with
// the uptime at which it was printed.
const linesScript = `read up _ </proc/uptime; echo "line 0 $up"
i=1; while [ $i -le 30 ]; do sleep 0.1; read up _ </proc/uptime; echo "line $i $up"; i=$((i+1)); done
`

// delays is how late the lines of one run arrived: the first one, the mean and the most of the later ones.
type delays struct{ first, later, most float64 }

func p3(ctx context.Context, e *env, n int) ([]row, error) {
	ns, err := e.namespace(ctx, "p3")
	if err != nil {
		return nil, err
	}
	var got [2][]delays
	ways := []way{
		{"kubectl testrun run", func(ctx context.Context, i int) (time.Duration, error) {
			cmd := e.command(ctx, e.kubectl, "testrun", "run", "p3", "-n", ns, "--image", busybox, "--", "sh", "-c", linesScript)
			s, lines := e.runStamped(cmd)
			return e.lineDelays(s, lines, &got[0])
		}},
		{"kubectl logs -f", func(ctx context.Context, i int) (time.Duration, error) {
			name := fmt.Sprintf("logs-%d", i)
			start := time.Now()
			if _, err := e.k(ctx, "-n", ns, "run", name, "--image", busybox, "--restart=Never", "--command", "--", "sh", "-c", linesScript); err != nil {
				return 0, err
			}
			// kubectl logs refuses a container that has not started yet: a script retries.
			for {
				s, lines := e.runStamped(e.command(ctx, e.kubectl, "-n", ns, "logs", "-f", "pod/"+name))
				if s.err == nil || time.Since(start) > 2*time.Minute || ctx.Err() != nil {
					s.took = time.Since(start)
					return e.lineDelays(s, lines, &got[1])
				}
				time.Sleep(100 * time.Millisecond)
			}
		}},
	}
	took, errs := interleave(ctx, n, ways)
	first := func(ds []delays) []float64 { return pick(ds, func(d delays) float64 { return d.first }) }
	later := func(ds []delays) []float64 { return pick(ds, func(d delays) float64 { return d.later }) }
	pf, kf := median(first(got[0])), median(first(got[1]))
	pl, kl := median(later(got[0])), median(later(got[1]))
	return []row{
		{id: "P3", what: "run: container start → first line on stdout", value: fmt.Sprintf("%.2f s", pf), goal: "≤ 0.3 s",
			note: join(spread("%.2f", first(got[0])), failures(errs[0]))},
		{id: "P3", what: "`kubectl run` + `kubectl logs -f` (retried until the container started): same", value: fmt.Sprintf("%.2f s", kf),
			base: "run ÷ this", ratio: pf / kf, note: join(spread("%.2f", first(got[1])), failures(errs[1]))},
		{id: "P3", what: "run: a later line's delay (mean of 30 lines 0.1 s apart)", value: fmt.Sprintf("%.3f s", pl), goal: "≤ 0.05 s",
			note: join(fmt.Sprintf("slowest line %.2f s", slowest(got[0])), fmt.Sprintf("stamps in 10 ms steps; whole run %.2f s", median(seconds(took[0]))))},
		{id: "P3", what: "`kubectl logs -f`: same", value: fmt.Sprintf("%.3f s", kl), base: "run ÷ this", ratio: pl / kl,
			note: fmt.Sprintf("slowest line %.2f s", slowest(got[1]))},
	}, nil
}

func slowest(ds []delays) float64 {
	m := 0.0
	for _, d := range ds {
		m = max(m, d.most)
	}
	return m
}

func pick(ds []delays, f func(delays) float64) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = f(d)
	}
	return out
}

// lineDelays adds the delays of the lines of one run to ds; every one of the 31 lines must have come.
func (e *env) lineDelays(s sample, lines []stampedLine, ds *[]delays) (time.Duration, error) {
	if s.err != nil {
		return s.took, s.err
	}
	var d delays
	var later []float64
	seen := 0
	for _, l := range lines {
		f := strings.Fields(l.text)
		if len(f) != 3 || f[0] != "line" {
			continue
		}
		stamp, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			continue
		}
		seen++
		if f[1] == "0" {
			d.first = l.arrived - stamp
		} else {
			later = append(later, l.arrived-stamp)
		}
	}
	if seen != 31 {
		return s.took, fmt.Errorf("%d of the 31 lines arrived", seen)
	}
	for _, l := range later {
		d.later += l / float64(len(later))
		d.most = max(d.most, l)
	}
	*ds = append(*ds, d)
	return s.took, nil
}
