package cmd

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/klog/v2"
)

func TestSilenceHandledErrorsKeepsOtherErrors(t *testing.T) {
	saved := utilruntime.ErrorHandlers
	t.Cleanup(func() { utilruntime.ErrorHandlers = saved })
	flags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(flags)
	for name, value := range map[string]string{"logtostderr": "false", "stderrthreshold": "FATAL"} {
		if err := flags.Set(name, value); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = flags.Set("logtostderr", "true")
		_ = flags.Set("stderrthreshold", "ERROR")
		klog.SetOutput(os.Stderr)
	})
	var out bytes.Buffer
	klog.SetOutput(&out)

	SilenceHandledErrors()
	cancelled := fmt.Errorf(`Get "https://127.0.0.1:6443/api/v1/pods?watch=true": %w`, context.Canceled)
	utilruntime.HandleErrorWithContext(t.Context(), cancelled, "Failed to watch")
	klog.Flush()
	utilruntime.HandleErrorWithContext(t.Context(), errors.New("next reader: websocket: close 1006 (abnormal closure): unexpected EOF"), "Copying stdout failed")
	klog.Flush()
	if out.Len() != 0 {
		t.Errorf("a cancelled watch or a cut exec stream was printed:\n%s", out.String())
	}
	utilruntime.HandleErrorWithContext(t.Context(), errors.New("the server is on fire"), "Failed to list")
	klog.Flush()
	if !strings.Contains(out.String(), "the server is on fire") {
		t.Errorf("another unhandled error was not printed; output: %q", out.String())
	}
}
