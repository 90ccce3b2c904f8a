// Package cmdkit is what every verb of the command line shares: the progress printer for the terminal. It is
// the only place that decides how the plugin looks (colour, a status line redrawn in place, quiet mode); the
// engine reports through internal/reporter and never imports this package.
package cmdkit
