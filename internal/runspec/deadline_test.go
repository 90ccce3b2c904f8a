package runspec

import (
	"strings"
	"testing"
	"time"
)

// The timeout and the hold may add up to MaxDeadline and no more; at the bound the Job's deadline is still
// positive and at least as long as asked, so it can never overflow into a negative activeDeadlineSeconds.
func TestTimeoutPlusHoldIsBoundedSoTheDeadlineNeverOverflows(t *testing.T) {
	const maxDuration = time.Duration(1<<63 - 1)
	tests := []struct {
		name          string
		timeout, hold time.Duration
		ok            bool
	}{
		{"defaults", 0, 0, true},
		{"at the bound", MaxDeadline - time.Hour, time.Hour, true},
		{"one nanosecond over", MaxDeadline - time.Hour + 1, time.Hour, false},
		{"timeout alone over, with the default hold", MaxDeadline, 0, false},
		{"both at time.Duration's end", 2562047 * time.Hour, 2562047 * time.Hour, false},
		{"the largest duration", maxDuration, maxDuration, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := Spec{Name: "x-abcde", Image: "i:1", Timeout: tc.timeout, Hold: tc.hold}
			err := spec.Validate()
			if tc.ok != (err == nil) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "lower --timeout or --hold") {
					t.Errorf("Validate() = %v, want it to name --timeout and --hold", err)
				}
				return
			}
			deadline := *BuildJob(spec).Spec.ActiveDeadlineSeconds
			if want := int64((spec.EffectiveTimeout() + spec.EffectiveHold()) / time.Second); deadline < want {
				t.Errorf("activeDeadlineSeconds = %d, want at least %d", deadline, want)
			}
		})
	}
}
