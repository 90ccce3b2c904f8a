package plan

import (
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
)

// gitVariables are the CI variables the commit and ref of a run are read from, in order: GitHub Actions,
// GitLab CI, Azure Pipelines, Jenkins.
var gitVariables = []struct{ sha, ref string }{
	{"GITHUB_SHA", "GITHUB_REF"},
	{"CI_COMMIT_SHA", "CI_COMMIT_REF_NAME"},
	{"BUILD_SOURCEVERSION", "BUILD_SOURCEBRANCH"},
	{"GIT_COMMIT", "GIT_BRANCH"},
}

// setEnv sets e in env: a variable of the same name is replaced where it stands, so that $(NAME) references
// of the variables after it still see it; a new one is appended.
func setEnv(env []corev1.EnvVar, e corev1.EnvVar) []corev1.EnvVar {
	if i := slices.IndexFunc(env, func(x corev1.EnvVar) bool { return x.Name == e.Name }); i >= 0 {
		env[i] = e
		return env
	}
	return append(env, e)
}

// mergeResources returns the definition's quantities with the flag's on top, resource by resource.
// Definitions are validated, so their quantities parse.
func mergeResources(def map[string]string, flag corev1.ResourceList) corev1.ResourceList {
	if len(def) == 0 {
		return flag
	}
	list := corev1.ResourceList{}
	for name, q := range def {
		list[corev1.ResourceName(name)] = resource.MustParse(q)
	}
	maps.Copy(list, flag)
	return list
}

// gitFromEnv returns the commit and ref the CI builds, each from the first CI variable that is set.
func gitFromEnv(getenv func(string) string) (sha, ref string) {
	for _, v := range gitVariables {
		if sha == "" {
			sha = getenv(v.sha)
		}
		if ref == "" {
			ref = getenv(v.ref)
		}
	}
	return sha, ref
}

// Flags are the values of a run given on the command line, parsed. For the values a definition may also set,
// nil means "not given": the definition's value stands; given, it wins. The others always apply.
type Flags struct {
	Image      *string
	WorkingDir *string
	Timeout    *time.Duration
	// ReportDirs, when not nil, replace the definition's report directory; the first is the main one.
	ReportDirs []string

	// Command is the words after --: a plain run's command, or a definition's args.
	Command         []string
	Env             []corev1.EnvVar
	EnvFrom         []corev1.EnvFromSource
	Config          []definition.Config
	Requests        corev1.ResourceList
	Limits          corev1.ResourceList
	NodeSelector    map[string]string
	Labels          map[string]string
	Tolerations     []corev1.Toleration
	ImagePullPolicy corev1.PullPolicy
	ServiceAccount  string
	Hold            time.Duration
	Grace           time.Duration
	HelperImage     string
	Restricted      bool
	// PodPatches (--overrides) apply after the definition's podTemplatePatch.
	PodPatches []runspec.PodPatch
	// Uploads (--upload) are placed in the test container before the test starts.
	Uploads []runspec.Upload
	// Shards, when not nil, replaces the definition's shard count.
	Shards *int
	// MaxParallel bounds how many shards run at once; 0 for all.
	MaxParallel int
}

// Input is everything one run's plan depends on.
type Input struct {
	// Definition is the definition the run comes from; nil for a plain run.
	Definition *definition.Definition
	// Name and Namespace are the run's (its Job's) name and namespace.
	Name      string
	Namespace string
	// Global is the repository's global configuration (.testrun/config.yaml).
	Global []definition.Config
	// Reports is the local directory the reports go to; "" for none.
	Reports string
	Flags   Flags
	// Getenv reads the client's environment, for the CI's git variables; nil reads none.
	Getenv func(string) string
}

// Run is one planned run: its Spec, where its reports go and the definition it comes from.
type Run struct {
	// Definition is the name of the definition the run comes from, "" for a plain run; it prefixes the run's
	// output when several runs share the terminal.
	Definition string
	// Requires says what the definition's image must contain.
	Requires string
	Spec     runspec.Spec
	Reports  string
	// CannotSplit is set when the run is sharded but its definition does not say how its framework splits a
	// suite (spec.sharding): every shard would run the whole suite.
	CannotSplit bool
}

// Plan returns the run in: the definition's values, overridden by the flags given. The configuration merges
// the global entries, --config and the definition's own entries, in increasing precedence; the environment
// is the definition's, then the configuration's, then --env, each replacing a variable of the same name.
func Plan(in Input) Run {
	f := in.Flags
	spec := runspec.Spec{
		Name:            in.Name,
		Namespace:       in.Namespace,
		Image:           deref(f.Image),
		Command:         f.Command,
		WorkingDir:      deref(f.WorkingDir),
		EnvFrom:         f.EnvFrom,
		ImagePullPolicy: f.ImagePullPolicy,
		ServiceAccount:  f.ServiceAccount,
		Resources:       corev1.ResourceRequirements{Requests: f.Requests, Limits: f.Limits},
		NodeSelector:    f.NodeSelector,
		Tolerations:     f.Tolerations,
		Labels:          f.Labels,
		Timeout:         runspec.DefaultTimeout,
		Hold:            f.Hold,
		Grace:           f.Grace,
		ReportDir:       runspec.DefaultReportDir,
		HelperImage:     f.HelperImage,
		Restricted:      f.Restricted,
		Uploads:         f.Uploads,
		MaxParallel:     f.MaxParallel,
	}
	if f.Shards != nil {
		spec.Shards = *f.Shards
	}
	if f.Timeout != nil {
		spec.Timeout = *f.Timeout
	}
	if len(f.ReportDirs) > 0 {
		spec.ReportDir, spec.MoreReportDirs = f.ReportDirs[0], f.ReportDirs[1:]
	}
	if in.Getenv != nil {
		spec.GitSHA, spec.GitRef = gitFromEnv(in.Getenv)
	}
	var env []corev1.EnvVar
	var defConfig []definition.Config
	run := Run{Reports: in.Reports}
	if def := in.Definition; def != nil {
		run.Definition, run.Requires = def.Metadata.Name, def.Spec.Requires
		if f.Image == nil {
			spec.Image = def.Spec.Image
		}
		if def.Spec.WorkingDir != "" && f.WorkingDir == nil {
			spec.WorkingDir = def.Spec.WorkingDir
		}
		// The words after -- replace the definition's args: its command is the framework's launcher.
		spec.Command, spec.Args = def.Spec.Command, def.Spec.Args
		if len(f.Command) > 0 {
			spec.Args = f.Command
		}
		if t := def.TimeoutDuration(); t > 0 && f.Timeout == nil {
			spec.Timeout = t
		}
		if def.Spec.Reports.Dir != "" && f.ReportDirs == nil {
			spec.ReportDir = def.Spec.Reports.Dir
		}
		spec.Resources.Requests = mergeResources(def.Spec.Resources.Requests, f.Requests)
		spec.Resources.Limits = mergeResources(def.Spec.Resources.Limits, f.Limits)
		spec.Labels = jobLabels(def, f.Labels)
		for _, e := range def.Spec.Env {
			env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
		}
		defConfig = def.Spec.Config
		if p := def.PodPatch; p != nil {
			spec.PodPatches = append(spec.PodPatches, *p)
		}
		if f.Shards == nil {
			spec.Shards = def.Spec.Shards
		}
		switch sh := def.Spec.Sharding; {
		case spec.Sharded() && sh == nil:
			run.CannotSplit = true
		case spec.Sharded() && sh.Split == definition.SplitArgs:
			spec.Args = slices.Concat(spec.Args, sh.Args)
		case spec.Sharded() && sh.Split == definition.SplitWrap:
			spec.Command = slices.Concat(sh.Wrap, spec.Command)
		}
	}
	spec.PodPatches = append(spec.PodPatches, f.PodPatches...)
	configEnv, files := definition.Render(definition.MergeConfig(in.Global, f.Config, defConfig))
	spec.Files = files
	for _, e := range slices.Concat(configEnv, f.Env) {
		env = setEnv(env, e)
	}
	spec.Env = env
	run.Spec = spec
	return run
}

// jobLabels are the labels of a definition's Job, in increasing precedence: the definition's metadata.labels
// (what --selector chose it by, so that logs -l and list -l find its runs by the same labels), the name of the
// definition, its spec.labels, then --label. The plugin's own labels in metadata.labels, which BuildJob sets,
// are left out.
func jobLabels(def *definition.Definition, flags map[string]string) map[string]string {
	l := map[string]string{}
	for k, v := range def.Metadata.Labels {
		if k != runspec.LabelManagedBy && k != runspec.LabelRun {
			l[k] = v
		}
	}
	l[definition.LabelDefinition] = def.Metadata.Name
	maps.Copy(l, def.Spec.Labels)
	maps.Copy(l, flags)
	return l
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
