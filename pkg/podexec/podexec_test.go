package podexec

import (
	"errors"
	"fmt"
	"testing"

	"k8s.io/streaming/pkg/httpstream"
)

func TestFallBackToSPDY(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "upgrade refused", err: &httpstream.UpgradeFailureError{Cause: errors.New("bad handshake")}, want: true},
		{name: "upgrade refused, wrapped", err: fmt.Errorf("exec: %w", &httpstream.UpgradeFailureError{Cause: errors.New("403")}), want: true},
		{name: "https proxy", err: errors.New("proxy: unknown scheme: https"), want: true},
		{name: "command failed", err: errors.New("command terminated with exit code 1"), want: false},
		{name: "no error", err: nil, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fallBackToSPDY(tt.err); got != tt.want {
				t.Errorf("fallBackToSPDY(%v) = %t, want %t", tt.err, got, tt.want)
			}
		})
	}
}
