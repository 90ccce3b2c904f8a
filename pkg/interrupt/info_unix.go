//go:build unix && !(darwin || dragonfly || freebsd || netbsd || openbsd)

package interrupt

import (
	"os"
	"syscall"
)

var infoSignals = []os.Signal{syscall.SIGUSR1}
