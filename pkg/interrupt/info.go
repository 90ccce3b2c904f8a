package interrupt

import (
	"context"
	"os"
	"os/signal"
	"sync"
)

// InfoSignals are the signals that ask a running command where it stands without stopping it: SIGUSR1, and
// SIGINFO (Ctrl-T on a BSD or macOS terminal) where the platform has it. Windows has none.
var InfoSignals = infoSignals

// InfoRequests hands each request for a progress report to every follower listening: each `run` (one per run
// of several), `wait` and `logs -f` prints its own report. A nil *InfoRequests never asks, so code run
// without main's signals (unit tests, a library caller) needs no check.
type InfoRequests struct {
	mu        sync.Mutex
	listeners map[chan struct{}]struct{}
}

// NotifyInfo returns the InfoRequests that InfoSignals make for the rest of the process's life. main calls it
// before anything else: SIGUSR1's default action ends the process, so from then on a signal sent to see a
// run's progress can never kill it, whatever the command is doing (also during its cleanup).
func NotifyInfo() *InfoRequests {
	r := &InfoRequests{}
	if len(InfoSignals) == 0 {
		return r // signal.Notify with no signal would catch every one
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, InfoSignals...)
	go func() {
		for range signals {
			r.Ask()
		}
	}()
	return r
}

// Listen returns a channel that receives a value for every request (requests made while one is pending come
// as one) and the function that stops listening.
func (r *InfoRequests) Listen() (<-chan struct{}, func()) {
	if r == nil {
		return nil, func() {}
	}
	c := make(chan struct{}, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.listeners == nil {
		r.listeners = map[chan struct{}]struct{}{}
	}
	r.listeners[c] = struct{}{}
	return c, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.listeners, c)
	}
}

// Ask asks every listener for a report, without waiting for any.
func (r *InfoRequests) Ask() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.listeners {
		select {
		case c <- struct{}{}:
		default: // a request is pending already: the report it makes is as current
		}
	}
}

type infoKey struct{}

// WithInfo returns ctx carrying r, where the followers of runs find it (Info).
func WithInfo(ctx context.Context, r *InfoRequests) context.Context {
	return context.WithValue(ctx, infoKey{}, r)
}

// Info returns the InfoRequests ctx carries, or nil.
func Info(ctx context.Context) *InfoRequests {
	r, _ := ctx.Value(infoKey{}).(*InfoRequests)
	return r
}
