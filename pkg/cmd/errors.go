package cmd

import (
	"context"
	"errors"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
)

// SilenceCancelledWatches keeps client-go from printing `"Failed to watch" err="… context canceled"` on
// stderr when a command stops an informer on purpose (the run ended, the fetch container started): the
// reflector can report the request it was still making as an unhandled error. Every other unhandled error is
// still printed. Call it once, from main, before any command runs.
func SilenceCancelledWatches() {
	handlers := utilruntime.ErrorHandlers
	utilruntime.ErrorHandlers = []utilruntime.ErrorHandler{
		func(ctx context.Context, err error, msg string, keysAndValues ...any) {
			if errors.Is(err, context.Canceled) {
				return
			}
			for _, h := range handlers {
				h(ctx, err, msg, keysAndValues...)
			}
		},
	}
}
