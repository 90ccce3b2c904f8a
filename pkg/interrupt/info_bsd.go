//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package interrupt

import (
	"os"
	"syscall"
)

// SIGINFO is what Ctrl-T sends on these systems' terminals.
var infoSignals = []os.Signal{syscall.SIGUSR1, syscall.SIGINFO}
