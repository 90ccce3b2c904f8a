package runwatch

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/reporter"
)

// A failed watch is not an unreachable API server once the server answers again; while it does not, the
// time since the first failure and the last error are reported, so followers can give up after a bound.
func TestWatchUnreachableTellsARecoveredServerFromAGoneOne(t *testing.T) {
	client := fake.NewClientset()
	w, err := WatchRun(t.Context(), client, "ci", "run-x")
	if err != nil {
		t.Fatal(err)
	}
	if d, err := w.Unreachable(t.Context()); d != 0 || err != nil {
		t.Fatalf("Unreachable with no failure = %s, %v; want 0, nil", d, err)
	}

	w.watchFailed(t.Context(), nil, errors.New("connection refused"))
	if d, err := w.Unreachable(t.Context()); d != 0 || err != nil {
		t.Fatalf("Unreachable after a failure the server recovered from = %s, %v; want 0, nil", d, err)
	}

	down := errors.New(`Get "https://10.0.0.1:6443/api/v1/namespaces/ci/pods": connection refused`)
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, down })
	w.watchFailed(t.Context(), nil, errors.New("watch failed"))
	w.mu.Lock()
	w.failingSince = time.Now().Add(-APIUnreachableBudget)
	w.mu.Unlock()
	d, err := w.Unreachable(t.Context())
	if d < APIUnreachableBudget || !errors.Is(err, down) {
		t.Fatalf("Unreachable while the server is gone = %s, %v; want at least %s and the probe's error", d, err, APIUnreachableBudget)
	}
	o, gone := w.APIGone(t.Context(), "run-x", reporter.Discard{})
	if !gone || o.ExitCode != 125 || o.Reason != "APIUnreachable" || !strings.Contains(o.Message, "kubectl testrun delete run-x") {
		t.Errorf("apiGone = %+v, %v; want 125 APIUnreachable naming the cleanup command", o, gone)
	}
}

// The informers report a failed list or watch to the Watch: a watch that ends while the API server refuses
// every request makes Unreachable grow.
func TestWatchNoticesFailingRequests(t *testing.T) {
	client := fake.NewClientset()
	watchers := map[string]*watch.FakeWatcher{}
	var mu sync.Mutex
	client.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		mu.Lock()
		defer mu.Unlock()
		w := watch.NewFake()
		watchers[a.GetResource().Resource] = w
		return true, w, nil
	})
	w, err := WatchRun(t.Context(), client, "ci", "run-x")
	if err != nil {
		t.Fatal(err)
	}
	down := errors.New("connection refused")
	client.PrependReactor("list", "*", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, down })
	client.PrependWatchReactor("*", func(k8stesting.Action) (bool, watch.Interface, error) { return true, nil, down })
	mu.Lock()
	for _, fw := range watchers {
		fw.Stop()
	}
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := w.Unreachable(t.Context())
		if d > 0 && errors.Is(err, down) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Unreachable = %s, %v 10s after every request began to fail; want > 0 and the error", d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// APIHealth learns from the client's own requests: a request that got no answer starts the failing time, any
// answer ends it, and a request cancelled by its caller says nothing about the server.
func TestAPIHealthRecordsTheClientsRequests(t *testing.T) {
	h := &APIHealth{}
	refused := errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
	var fail bool
	rt := h.Wrap(roundTripperFunc(func(*http.Request) (*http.Response, error) {
		if fail {
			return nil, refused
		}
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: http.NoBody}, nil
	}))
	send := func(ctx context.Context) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://127.0.0.1:6443/api", nil)
		if resp, err := rt.RoundTrip(req); err == nil {
			_ = resp.Body.Close()
		}
	}
	send(t.Context())
	if since, err := h.failing(); !since.IsZero() || err != nil {
		t.Fatalf("after an answer (even a 503): failing since %v, %v; want zero", since, err)
	}
	fail = true
	send(t.Context())
	first, err := h.failing()
	if first.IsZero() || !errors.Is(err, refused) {
		t.Fatalf("after a refused request: failing since %v, %v; want set, with the error", first, err)
	}
	send(t.Context())
	if again, _ := h.failing(); !again.Equal(first) {
		t.Errorf("a second failure moved the start from %v to %v", first, again)
	}
	fail = false
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	send(cancelled)
	if since, _ := h.failing(); since.IsZero() {
		t.Errorf("a cancelled request cleared the failure")
	}
	send(t.Context())
	if since, err := h.failing(); !since.IsZero() || err != nil {
		t.Errorf("after the server answered again: failing since %v, %v; want zero", since, err)
	}
	var none *APIHealth
	if since, err := none.failing(); !since.IsZero() || err != nil {
		t.Errorf("nil APIHealth: %v, %v", since, err)
	}
}
