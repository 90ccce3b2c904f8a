//go:build unix

package interrupt

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

// SIGUSR1 asks every listener for a report and cancels nothing: the command goes on, and the process is not
// ended by the signal's default action.
func TestSIGUSR1AsksEveryListenerAndCancelsNothing(t *testing.T) {
	exited := make(chan int, 1)
	ctx, cancel := Context(t.Context(), func(code int) { exited <- code })
	defer cancel(nil)
	ctx = WithInfo(ctx, NotifyInfo())
	first, stopFirst := Info(ctx).Listen()
	defer stopFirst()
	second, stopSecond := Info(ctx).Listen()
	defer stopSecond()

	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]<-chan struct{}{"first": first, "second": second} {
		select {
		case <-c:
		case <-time.After(5 * time.Second):
			t.Fatalf("the %s listener did not hear SIGUSR1", name)
		}
	}
	select {
	case <-ctx.Done():
		t.Fatalf("SIGUSR1 cancelled the context (cause %v): it must only ask for a report", context.Cause(ctx))
	case code := <-exited:
		t.Fatalf("SIGUSR1 exited with %d", code)
	case <-time.After(100 * time.Millisecond):
	}
}

// A listener that stopped hears nothing more; a nil InfoRequests (no signals: a library caller, a unit test)
// never asks.
func TestInfoRequestsListen(t *testing.T) {
	r := &InfoRequests{}
	c, stop := r.Listen()
	stop()
	r.Ask()
	select {
	case <-c:
		t.Error("a listener that stopped heard a request")
	default:
	}
	var none *InfoRequests
	c, stop = none.Listen()
	none.Ask()
	stop()
	if c != nil {
		t.Error("a nil InfoRequests gave a channel, want nil (never ready)")
	}
	if Info(t.Context()) != nil {
		t.Error("a context without InfoRequests has some")
	}
}
