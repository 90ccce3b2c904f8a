// Package flow runs a test flow: a graph of steps, each one or more runs of a definition, started as soon as
// the steps they depend on passed, then the onExit steps whose condition holds. Resolve turns a parsed
// TestFlow and the definitions available into a Plan (what each step runs, with the step's overrides applied:
// the most specific value wins); Executor walks the Plan with a function that performs one run, so the
// ordering, the skipping, the conditions, the bound on parallel runs and the flow's timeout are tested
// without a cluster. The command line makes each run a Job through internal/runner. docs/flows.md is the
// user's view.
package flow
