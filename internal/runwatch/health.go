package runwatch

import (
	"net/http"
	"sync"
	"time"
)

// APIHealth records whether the API server answers the client's requests, from the requests themselves: it
// wraps the client's transport (rest.Config.Wrap), so knowing costs no request of its own. Informers retry a
// watch refused by an API server that is down without ever reporting it, so a follower needs this to tell
// a restart (seconds) from a server gone for good. The zero value is ready to use; nil records nothing.
type APIHealth struct {
	mu sync.Mutex
	// failingSince is when requests began to fail to reach the server, zero while they succeed.
	failingSince time.Time
	lastErr      error
}

// Wrap returns rt, recording the outcome of every request it sends.
func (h *APIHealth) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if req.Context().Err() == nil {
			h.record(err)
		}
		return resp, err
	})
}

// record notes a request that got an answer (err == nil: any HTTP response) or failed to get one.
func (h *APIHealth) record(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.failingSince, h.lastErr = time.Time{}, nil
		return
	}
	if h.failingSince.IsZero() {
		h.failingSince = time.Now()
	}
	h.lastErr = err
}

// failing returns when requests began to fail, zero while they succeed, and the last error.
func (h *APIHealth) failing() (time.Time, error) {
	if h == nil {
		return time.Time{}, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failingSince, h.lastErr
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
