// Package cmdkit is what every verb of the command line shares, so that no verb imports another: the
// Factory that builds API clients (replaced by fakes in unit tests), one way to run a verb (Complete →
// Validate → Run, with exit codes decided in one place), the printing flags (-o), the progress flags
// (--color, --quiet) and the terminal's progress printer, the limit flags, run-name completion and the check
// of a local destination directory.
//
// It is the only place that decides how the plugin looks (colour, a status line redrawn in place, quiet
// mode); the engine reports through internal/reporter and never imports this package.
package cmdkit
