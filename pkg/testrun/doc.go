// Package testrun is the engine of a test run: it turns a Spec into the one batch/v1 Job the plugin creates
// (BuildJob), and decides from the current Job and pod alone what state the run is in and which exit code it
// ends with (Classify). Watching the run, streaming its logs and fetching its reports build on these, in this
// same package.
//
// The package holds no command-line wiring: it imports neither cobra nor pflag, so that every verb (run, logs,
// fetch, describe) and every test drives the same engine.
package testrun
