// Package runner ties the engine together for one run: it creates the Job (runspec), follows it (runwatch,
// outcome), streams its logs (logs), brings its reports home (reports), explains a failure (diagnose) and
// cleans up on every path, including a cancelled context. It also waits for runs started earlier (Wait).
//
// The engine imports neither cobra, pflag nor a colour library: every verb and every test drives it through
// plain values, and it reports progress through internal/reporter (docs/design.md, "Package map").
package runner
