package run

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-testrun/kubectl-testrun/internal/cmdkit"
	"github.com/kubectl-testrun/kubectl-testrun/internal/flow"
	"github.com/kubectl-testrun/kubectl-testrun/internal/outcome"
	"github.com/kubectl-testrun/kubectl-testrun/internal/plan"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runner"
	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/input"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/junit"
)

// flowState is what Complete prepared for a flow: its plan, and the planned run of each unit by label.
type flowState struct {
	plan    *flow.Plan
	runs    map[string]plan.Run
	timeout bool // --timeout was given: it bounds the flow
}

// readFlow returns the flow -f or --flow names; nil when the command runs no flow. data is -f's content.
func (o *Options) readFlow(catalog *definition.Catalog, data []byte) (*definition.Flow, error) {
	if o.Definition != "" || o.Plugin != "" || o.Selector != "" || (o.Flow != "" && o.Filename != "") {
		return nil, fmt.Errorf("a flow runs the definitions its steps name: give the flow alone (-f FILE or --flow NAME), without --definition, --plugin, --selector or the other of -f and --flow")
	}
	if o.Flow != "" {
		f, err := catalog.FindFlow(o.Flow)
		if err != nil {
			return nil, fmt.Errorf("--flow: %w", err)
		}
		return f, nil
	}
	if data == nil {
		return nil, nil
	}
	if _, kind, err := definition.Kind(o.Filename, data); err != nil || kind != definition.KindFlow {
		return nil, nil
	}
	return definition.ParseFlow(o.Filename, data)
}

// resolveFlow resolves flow f against the catalog: the definitions of its steps, its kubeconfigs.
func resolveFlow(f *definition.Flow, catalog *definition.Catalog) (*flow.Plan, error) {
	return flow.Resolve(f, catalog, func(path string) ([]byte, error) { return input.ReadPath(path, input.MaxFileBytes) })
}

// readTestrun reads the TestMachinery document of -f (data) and resolves it against its locations: a
// Testrun, each TestDefinition from a .test-defs/ directory. Another kind of TestMachinery is refused.
func (o *Options) readTestrun(data []byte) (*flow.Plan, error) {
	if o.Definition != "" || o.Plugin != "" || o.Selector != "" || o.Flow != "" {
		return nil, fmt.Errorf("a Testrun runs the TestDefinitions its steps name: give it alone with -f FILE, without --definition, --plugin, --selector or --flow")
	}
	if _, kind, err := definition.Kind(o.Filename, data); err == nil && kind == definition.KindDefinition {
		return nil, fmt.Errorf("-f %s: a TestMachinery TestDefinition runs as a step of a Testrun: keep it in %s/ and give the Testrun with -f (docs/testmachinery.md)", o.Filename, definition.TMDefinitionsDir)
	}
	tr, err := definition.ParseTestrun(o.Filename, data)
	if err != nil {
		return nil, err
	}
	id := tr.Metadata.Name
	if id == "" {
		name, _ := tr.FlowName()
		id = runspec.NewRunName(name)
	}
	return flow.ResolveTestrun(tr, id, flow.TMDisk{
		ReadFile: func(path string) ([]byte, error) { return input.ReadPath(path, input.MaxFileBytes) },
		ReadDir:  os.ReadDir,
	})
}

// completeFlow plans every run of flow p: the flags over its steps' definitions (except --timeout, which
// bounds the whole flow, and the words after --, which a flow has no place for).
func (o *Options) completeFlow(p *flow.Plan, names, command []string, namespace string, timeoutGiven bool) error {
	switch {
	case len(names) > 0:
		return fmt.Errorf("a flow names its runs after its steps: remove NAME (%s)", names[0])
	case len(command) > 0:
		return fmt.Errorf("a flow takes no command after --: give each step its args in the flow (spec.steps[].args)")
	}
	flags := o.flags
	flags.Timeout = nil
	o.flow = &flowState{plan: p, runs: map[string]plan.Run{}, timeout: timeoutGiven}
	for _, s := range append(p.Steps, p.OnExit...) {
		for _, u := range s.Units {
			reports := ""
			if o.Reports != "" {
				reports = filepath.Join(o.Reports, filepath.FromSlash(u.Reports))
			}
			r := plan.Plan(plan.Input{Definition: u.Definition, Name: runspec.NewRunName(u.Step), Namespace: namespace,
				Global: p.Config, Reports: reports, Flags: flags, Getenv: o.Getenv})
			r.Definition = u.Label
			r.Spec.Uploads = slices.Concat(r.Spec.Uploads, skipInside(u.Uploads, o.Reports))
			flow.Share(&r.Spec, s)
			o.flow.runs[u.Label] = r
			o.runs = append(o.runs, r)
		}
	}
	return nil
}

// skipInside returns uploads with dir (the reports directory, which the flow's runs write while others
// upload) left out of those it is inside of.
func skipInside(uploads []runspec.Upload, dir string) []runspec.Upload {
	if dir == "" {
		return uploads
	}
	out := slices.Clone(uploads)
	for i, up := range out {
		local, errL := filepath.Abs(up.Local)
		abs, errD := filepath.Abs(dir)
		rel, err := filepath.Rel(local, abs)
		if errL != nil || errD != nil || err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		out[i].Skip = append(slices.Clone(up.Skip), filepath.ToSlash(rel))
	}
	return out
}

// runFlow runs the flow: each step as soon as the steps it depends on passed, its runs' lines prefixed
// with the step's name when more than one run is in the flow; then the onExit steps. It prints the final
// table and verdict on stderr, merges the steps' JUnit reports into --reports/junit.xml, prints the result
// document with -o, and exits with the flow's code.
func (o *Options) runFlow(ctx context.Context) error {
	logsTo, logsTTY := o.Out, printers.IsTerminal(o.Out)
	if o.PrintFlags.Output != "" {
		// stdout is for the result document alone.
		logsTo, logsTTY = o.ErrOut, printers.IsTerminal(o.ErrOut)
	}
	lines := runner.NewLines(logsTo, o.ErrOut)
	prefixed := len(o.runs) > 1
	useColor := o.Progress.UseColor(o.ErrOut)
	progress := cmdkit.NewProgress(o.ErrOut, false, useColor, o.Progress.Quiet)
	// Without --reports, the runs of the steps others depend on still bring their shared directories home:
	// into a temporary directory, removed at the end.
	local := func(u flow.Unit) string { return filepath.Join(o.Reports, filepath.FromSlash(u.Reports)) }
	if o.Reports == "" {
		tmp, err := os.MkdirTemp("", "testrun-flow-")
		if err != nil {
			return fmt.Errorf("a directory for the steps' shared directories: %w", err)
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		local = func(u flow.Unit) string { return filepath.Join(tmp, filepath.FromSlash(u.Reports)) }
	}
	x := &flow.Executor{MaxParallel: o.MaxParallel, Progress: progress, Run: func(ctx context.Context, u flow.Unit) (*outcome.Result, int) {
		logs, messages, flush := logsTo, o.ErrOut, func() {}
		if prefixed {
			logs, messages, flush = lines.Prefixed(u.Label)
		}
		defer flush()
		// Several runs share the terminal: one line per change of state each, no status line redrawn in place.
		p := cmdkit.NewProgress(messages, false, useColor, o.Progress.Quiet)
		r, err := o.flow.stepRun(u, local)
		if err != nil {
			p.Warnf("%v", err)
			return nil, exitcode.CannotRun
		}
		result, err := o.runner(r, p.LogWriter(logs, logsTTY && !prefixed), p).Run(ctx, r.Spec)
		code := exitcode.OK
		switch {
		case err != nil:
			p.Warnf("%v", err)
			code = exitcode.Code(ctx, err)
		case result.ExitCode != exitcode.OK:
			code = result.ExitCode
			p.Warnf("%s", result.Verdict())
		default:
			p.Printf("%s", result.Verdict())
		}
		return result, code
	}}
	if o.flow.timeout {
		x.Timeout = o.Timeout
	}
	result := x.Execute(ctx, o.flow.plan)
	result.Namespace = o.runs[0].Spec.Namespace
	if o.Reports != "" {
		result.Reports = o.Reports
		if err := o.mergeJUnit(result); err != nil {
			progress.Warnf("%v", err)
			if result.ExitCode == exitcode.OK {
				result.ExitCode = exitcode.CannotRun
			}
		}
	}
	if err := progress.Around(func() error { return result.WriteTable(o.ErrOut) }); err != nil {
		return err
	}
	return o.finish(progress, result, result.ExitCode, result.Verdict())
}

// mergeJUnit writes the JUnit reports of every step into one report, --reports/junit.xml, each suite named
// after its step (and definition, for a step that ran several), and totals it in the result.
func (o *Options) mergeJUnit(result *flow.Result) error {
	labels := map[string]string{}
	for label, r := range o.flow.runs {
		labels[r.Spec.Name] = label
	}
	var parts []junit.Part
	for _, s := range result.Steps {
		for _, run := range s.Runs {
			if run.Reports != nil && run.Reports.JUnit != nil && len(run.Reports.JUnit.Files) > 0 {
				parts = append(parts, junit.Part{Name: labels[run.Name], Dir: run.Reports.Dir, Files: run.Reports.JUnit.Files})
			}
		}
	}
	if len(parts) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := junit.Merge(&b, parts); err != nil {
		return fmt.Errorf("--reports: the merged junit report: %w", err)
	}
	if err := os.MkdirAll(o.Reports, 0o755); err != nil {
		return fmt.Errorf("--reports: %w", err)
	}
	if err := os.WriteFile(filepath.Join(o.Reports, "junit.xml"), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--reports: writing the merged junit report: %w", err)
	}
	sum, err := junit.Summarize(o.Reports, []string{"junit.xml"})
	if err != nil {
		return fmt.Errorf("--reports: %w", err)
	}
	result.JUnit = &sum
	return nil
}

// stepRun returns the planned run of u, ready to run in the flow: its reports brought home (to local(u))
// when a step depends on its step even without --reports, so its shared directory can be handed on; and
// the shared directories of the runs of the steps its step depends on uploaded into its pod, each from
// where it came home; and its own shared directory seeded with the one its step starts from
// (Step.SharedFrom). A run that wrote nothing there hands on an empty directory.
func (f *flowState) stepRun(u flow.Unit, local func(flow.Unit) string) (plan.Run, error) {
	r := f.runs[u.Label]
	if r.Reports == "" && f.plan.HasDependents(u.Step) {
		r.Reports = local(u)
	}
	inputs := f.plan.Inputs(u.Step)
	for _, in := range inputs {
		if err := os.MkdirAll(flow.SharedLocal(local(in)), 0o755); err != nil {
			return r, fmt.Errorf("the shared directory of %s: %w", in.Label, err)
		}
	}
	flow.Receive(&r.Spec, inputs, func(in flow.Unit) string { return flow.SharedLocal(local(in)) })
	if from, ok := f.plan.SharedFrom(u.Step); ok {
		dir := flow.SharedLocal(local(from))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return r, fmt.Errorf("the shared directory of %s: %w", from.Label, err)
		}
		r.Spec.Uploads = append(r.Spec.Uploads, runspec.Upload{Local: dir, Path: flow.SharedDir})
	}
	return r, nil
}
