//go:build !unix

package interrupt

import "os"

// Windows has no signal a process can send to ask another where it stands.
var infoSignals []os.Signal
