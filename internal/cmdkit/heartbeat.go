package cmdkit

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runwatch"
)

// DefaultProgressEvery is the heartbeat's interval when stderr is not a terminal (CI): a log that shows life
// every few minutes tells a slow run from a hung one, and stays within the ten silent minutes after which
// some CI systems (Travis CI) stop a job, while a long run adds only a dozen lines an hour.
const DefaultProgressEvery = 5 * time.Minute

// ProgressEveryFlag is --progress-every, which run, wait and logs -f share: how often a one-line heartbeat
// ("still running: 12m of 40m, last output 3m ago, pod Running on node n1") is printed on stderr. Unless
// given, it is DefaultProgressEvery when stderr is not a terminal and off on a terminal, where the status
// line shows the same all the time.
type ProgressEveryFlag struct {
	every time.Duration
	set   bool
}

// AddFlag binds --progress-every.
func (f *ProgressEveryFlag) AddFlag(fs *pflag.FlagSet) {
	f.every = DefaultProgressEvery
	fs.Var((*progressEveryValue)(f), "progress-every", fmt.Sprintf("Print a one-line heartbeat on stderr this often (still running: elapsed of --timeout, last output, pod and node); 0 turns it off. The default is %s when stderr is not a terminal (CI), off on a terminal, where the status line serves. Send SIGUSR1 (kill -USR1) for a full progress report at any time.", human(DefaultProgressEvery)))
}

// Validate checks --progress-every; quiet is --quiet, which silences heartbeats.
func (f *ProgressEveryFlag) Validate(quiet bool) error {
	switch {
	case f.every < 0:
		return fmt.Errorf("--progress-every %s is negative: give an interval such as 5m, or 0 to turn the heartbeat off", f.every)
	case f.set && f.every > 0 && quiet:
		return fmt.Errorf("--progress-every %s asks for heartbeats that --quiet silences: drop one of them", f.every)
	}
	return nil
}

// Given says whether --progress-every was given.
func (f *ProgressEveryFlag) Given() bool { return f.set }

// Heartbeat returns the heartbeat of a command whose messages go to errOut.
func (f *ProgressEveryFlag) Heartbeat(errOut io.Writer, quiet bool) runwatch.Heartbeat {
	return runwatch.Heartbeat{Every: HeartbeatEvery(f.every, f.set, IsTerminal(errOut), quiet)}
}

// HeartbeatEvery decides the heartbeat's interval (0: none) from --progress-every (every, and whether it was
// given), whether stderr is a terminal and --quiet.
func HeartbeatEvery(every time.Duration, given, tty, quiet bool) time.Duration {
	switch {
	case given:
		return every
	case tty || quiet:
		return 0
	}
	return DefaultProgressEvery
}

// progressEveryValue is the pflag.Value of ProgressEveryFlag: a duration that remembers being set.
type progressEveryValue ProgressEveryFlag

func (v *progressEveryValue) String() string { return human(v.every) }

func (v *progressEveryValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	v.every, v.set = d, true
	return nil
}

func (v *progressEveryValue) Type() string { return "duration" }

// human writes a duration without its zero units (5m, not 5m0s).
func human(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
