//go:build unix

// Command pause is the pod sandbox ("pause") process of the local test cluster's
// registry.k8s.io/pause image: it holds the pod's namespaces open by doing nothing until it is told to
// stop. It blocks until SIGINT or SIGTERM and then exits 0. Running as PID 1 of the pod's PID namespace
// (shareProcessNamespace), it also reaps the zombie children re-parented to it.
//
// Build it static, as the image has nothing else in it:
//
//	CGO_ENABLED=0 go build -trimpath -ldflags=-s -o pause ./hack/cluster/images/pause
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: pause (takes no arguments; exits 0 on SIGINT or SIGTERM)")
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range sigs {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		os.Exit(0)
	}
}

// reap collects every child that has exited, so none stays a zombie. Signals coalesce, so one SIGCHLD may
// stand for several exits: loop until no exited child is left.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
