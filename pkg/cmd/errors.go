package cmd

import (
	"context"
	"errors"
	"strings"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
)

// SilenceHandledErrors keeps client-go from printing, in klog's format, errors the plugin handles itself:
//   - `"Failed to watch" err="… context canceled"` when a command stops an informer on purpose (the run
//     ended, the fetch container started): the reflector can report the request it was still making;
//   - `"Copying stdout failed"` (or stderr) when an exec stream is cut (an API server or kubelet restart, a
//     killed fetch container): the exec returns that error too, and the plugin reports it in its own words
//     (a copy that broke off is retried once, or said to be incomplete).
//
// Every other unhandled error is still printed. Call it once, from main, before any command runs.
func SilenceHandledErrors() {
	handlers := utilruntime.ErrorHandlers
	utilruntime.ErrorHandlers = []utilruntime.ErrorHandler{
		func(ctx context.Context, err error, msg string, keysAndValues ...any) {
			if errors.Is(err, context.Canceled) || strings.HasPrefix(msg, "Copying std") {
				return
			}
			for _, h := range handlers {
				h(ctx, err, msg, keysAndValues...)
			}
		},
	}
}
