package cmdkit

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// The heartbeat is on by default where no terminal shows a status line (CI), off on a terminal and with
// --quiet, and whatever --progress-every says when it is given.
func TestHeartbeatEvery(t *testing.T) {
	for _, tc := range []struct {
		name              string
		every             time.Duration
		given, tty, quiet bool
		want              time.Duration
	}{
		{name: "CI", every: DefaultProgressEvery, want: DefaultProgressEvery},
		{name: "terminal", every: DefaultProgressEvery, tty: true, want: 0},
		{name: "quiet", every: DefaultProgressEvery, quiet: true, want: 0},
		{name: "given in CI", every: time.Minute, given: true, want: time.Minute},
		{name: "given on a terminal", every: 2 * time.Second, given: true, tty: true, want: 2 * time.Second},
		{name: "turned off in CI", every: 0, given: true, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HeartbeatEvery(tc.every, tc.given, tc.tty, tc.quiet); got != tc.want {
				t.Errorf("HeartbeatEvery(%s, given %v, tty %v, quiet %v) = %s, want %s", tc.every, tc.given, tc.tty, tc.quiet, got, tc.want)
			}
		})
	}
}

// --progress-every parses a duration, remembers being given, and refuses what makes no sense.
func TestProgressEveryFlag(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		quiet     bool
		wantEvery time.Duration
		wantGiven bool
		wantErr   string
	}{
		{name: "default", wantEvery: DefaultProgressEvery},
		{name: "given", args: []string{"--progress-every", "2s"}, wantEvery: 2 * time.Second, wantGiven: true},
		{name: "off", args: []string{"--progress-every=0"}, wantEvery: 0, wantGiven: true},
		{name: "negative", args: []string{"--progress-every=-1m"}, wantEvery: -time.Minute, wantGiven: true, wantErr: "--progress-every -1m0s is negative"},
		{name: "with --quiet", args: []string{"--progress-every=1m"}, quiet: true, wantEvery: time.Minute, wantGiven: true, wantErr: "--progress-every 1m0s asks for heartbeats that --quiet silences"},
		{name: "off with --quiet", args: []string{"--progress-every=0"}, quiet: true, wantGiven: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f ProgressEveryFlag
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			f.AddFlag(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if f.every != tc.wantEvery || f.Given() != tc.wantGiven {
				t.Errorf("flag = %s given %v, want %s given %v", f.every, f.Given(), tc.wantEvery, tc.wantGiven)
			}
			err := f.Validate(tc.quiet)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Validate = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	(&ProgressEveryFlag{}).AddFlag(fs)
	if got := fs.Lookup("progress-every").DefValue; got != "5m" {
		t.Errorf("--progress-every's default shows as %q, want 5m", got)
	}
}
