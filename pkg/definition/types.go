// Package definition reads test definitions: small, versioned YAML documents that name a reusable way to run
// a test suite (image, command, args, env, config, reports, resources, timeout, labels), and the global test
// configuration of a repository. It parses them strictly (an unknown field is an error naming the file, the
// line and the field), validates their values, finds them in a repository's .testrun/ directory and among the
// shipped plugins, and turns their configuration into what internal/runspec renders.
//
// The format is documented in docs/definitions.md. Like the rest of the engine, the package imports neither
// cobra nor pflag and reads no environment.
package definition

import (
	"time"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// The versioned identity of the documents this package reads.
const (
	// APIVersion is the only version of the format there is.
	APIVersion = "testrun.dev/v1alpha1"
	// KindDefinition is the kind of a test definition.
	KindDefinition = "TestDefinition"
	// KindConfig is the kind of the global configuration in .testrun/config.yaml.
	KindConfig = "TestConfig"

	// AnnotationDescription is the metadata annotation whose value `kubectl testrun plugins` shows.
	AnnotationDescription = "description"
	// LabelDefinition is put on the Job and pod of a run started from a definition, naming it.
	LabelDefinition = "testrun.dev/definition"

	// DefaultReportFormat is the only report format there is; an empty reports.format means it.
	DefaultReportFormat = "junit"
)

// Definition is one TestDefinition document.
type Definition struct {
	// APIVersion must be APIVersion.
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Kind must be KindDefinition.
	Kind string `yaml:"kind" json:"kind"`
	// Metadata names the definition and carries the labels --selector matches.
	Metadata Metadata `yaml:"metadata" json:"metadata"`
	// Spec says how the test runs.
	Spec Spec `yaml:"spec" json:"spec"`

	// Source says where the definition was found; it is not part of the document.
	Source Source `yaml:"-" json:"-"`
	// Namespace is the namespace of the Job manifest the definition was made from (ReadJob); "" for a
	// definition, which has none.
	Namespace string `yaml:"-" json:"-"`
	// PodPatch is Spec.PodTemplatePatch checked and turned into JSON by Parse, or the pod template of a Job
	// manifest made a patch by ReadJob; nil when there is none. It is not part of the document.
	PodPatch *runspec.PodPatch `yaml:"-" json:"-"`
}

// Metadata names a definition.
type Metadata struct {
	// Name is what --definition, --plugin and --selector runs find it by, and the base of its run names: a
	// DNS-1123 label of at most 57 characters.
	Name string `yaml:"name" json:"name"`
	// Labels are matched by --selector, and put on the Job and its pod, so that logs -l and list -l find the
	// runs by the labels that chose the definition (Spec.Labels and --label win over them).
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// Annotations are free; "description" is shown by `kubectl testrun plugins`.
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
}

// Spec is how a test runs. Every field is optional; flags of `kubectl testrun run` override them.
type Spec struct {
	// Image is the test image; --image overrides it. A shipped plugin names none: the user gives it.
	Image string `yaml:"image,omitempty" json:"image,omitempty"`
	// Command replaces the image's entrypoint. Words after -- on the command line do not replace it: they
	// replace Args.
	Command []string `yaml:"command,omitempty" json:"command,omitempty"`
	// Args follow Command; the words after -- on the command line replace them.
	Args []string `yaml:"args,omitempty" json:"args,omitempty"`
	// WorkingDir is the absolute directory the test starts in, instead of the image's WORKDIR; --workdir
	// overrides it.
	WorkingDir string `yaml:"workingDir,omitempty" json:"workingDir,omitempty"`
	// Env are literal environment variables; $(NAME) refers to a variable defined before, such as
	// TESTRUN_REPORT_DIR. --env overrides a variable of the same name.
	Env []EnvVar `yaml:"env,omitempty" json:"env,omitempty"`
	// Config are the configuration entries, as environment variables or files, from a value, a Secret or a
	// ConfigMap. They override the run's and the global configuration of the same name.
	Config []Config `yaml:"config,omitempty" json:"config,omitempty"`
	// Reports says where the test writes its reports and in which format.
	Reports Reports `yaml:"reports,omitempty" json:"reports,omitzero"`
	// Resources of the test container; --requests and --limits override them resource by resource.
	Resources Resources `yaml:"resources,omitempty" json:"resources,omitzero"`
	// Timeout bounds the test, as a Go duration ("30m", "1h30m"); --timeout overrides it.
	Timeout string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Labels are put on the Job and its pod, over Metadata.Labels; --label overrides them key by key.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// Requires says, in words, what the image must contain for the definition to work.
	Requires string `yaml:"requires,omitempty" json:"requires,omitempty"`
	// PodTemplatePatch changes the run's pod template after the plugin built it, as --overrides does: a
	// mapping of the template's metadata and spec (a strategic merge or merge patch), or a list of
	// operations (a json patch). It is the escape hatch for what no field sets: hostNetwork, a sidecar, a
	// volume, a securityContext, a priority or runtime class, an annotation.
	PodTemplatePatch any `yaml:"podTemplatePatch,omitempty" json:"podTemplatePatch,omitempty"`
	// PodTemplatePatchType is strategic (the default for a mapping), merge or json (the default for a list).
	PodTemplatePatchType string `yaml:"podTemplatePatchType,omitempty" json:"podTemplatePatchType,omitempty"`
	// Shards splits the suite over this many pods by default (docs/sharding.md); --shards overrides it. It
	// needs Sharding.
	Shards int `yaml:"shards,omitempty" json:"shards,omitempty"`
	// Sharding says how the framework runs its share of a sharded run. A definition without it cannot be
	// sharded: each pod would run the whole suite.
	Sharding *Sharding `yaml:"sharding,omitempty" json:"sharding,omitempty"`
}

// The ways a framework takes its share of a sharded run (Sharding.Split).
const (
	// SplitEnv: the command reads TESTRUN_SHARD_INDEX and TESTRUN_SHARD_COUNT (and TESTRUN_SHARD_TESTS, the
	// tests --balance-from gave each shard) and runs its share itself.
	SplitEnv = "env"
	// SplitArgs: Sharding.Args, added after the args in a sharded run, tell the framework its share.
	SplitArgs = "args"
	// SplitWrap: in a sharded run, the words of Sharding.Wrap come before the command: a launcher that
	// reads the variables, works out this shard's share and runs the command (and args) with it.
	SplitWrap = "wrap"
)

// Sharding says how a framework runs its share of a sharded run.
type Sharding struct {
	// Split is env, args or wrap (SplitEnv, SplitArgs, SplitWrap).
	Split string `yaml:"split" json:"split"`
	// Args are added after the args (also after the words after --) in a sharded run, with Split args; they
	// may refer to $(TESTRUN_SHARD_INDEX) and $(TESTRUN_SHARD_COUNT).
	Args []string `yaml:"args,omitempty" json:"args,omitempty"`
	// Wrap are the words put before the command in a sharded run, with Split wrap; they may refer to
	// variables as $(NAME).
	Wrap []string `yaml:"wrap,omitempty" json:"wrap,omitempty"`
}

// EnvVar is a literal environment variable of the test container.
type EnvVar struct {
	// Name of the variable.
	Name string `yaml:"name" json:"name"`
	// Value of the variable; it may refer to variables defined before it as $(NAME).
	Value string `yaml:"value" json:"value"`
}

// ConfigType says how a configuration entry reaches the test.
type ConfigType string

// The two ways a configuration entry reaches the test.
const (
	// ConfigEnv makes the entry an environment variable named after it.
	ConfigEnv ConfigType = "env"
	// ConfigFile makes the entry a file at its path, and exports the path as an environment variable (see
	// PathEnvName).
	ConfigFile ConfigType = "file"
)

// Config is one configuration entry: an environment variable or a file, whose content comes from exactly one
// of a literal value, a Secret key or a ConfigMap key. The shape follows the configuration elements of
// Gardener's TestMachinery.
type Config struct {
	// Name identifies the entry. For type env it is the variable's name; for type file the path is exported
	// as the variable PathEnvName(Name).
	Name string `yaml:"name" json:"name"`
	// Type is env or file.
	Type ConfigType `yaml:"type" json:"type"`
	// Path is where the file is mounted in the test container: an absolute path (type file only).
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Value is the literal content.
	Value *string `yaml:"value,omitempty" json:"value,omitempty"`
	// ValueFrom takes the content from a Secret or a ConfigMap in the run's namespace.
	ValueFrom *ValueFrom `yaml:"valueFrom,omitempty" json:"valueFrom,omitempty"`
}

// ValueFrom names exactly one Secret key or ConfigMap key.
type ValueFrom struct {
	// SecretKeyRef takes the content from a key of a Secret.
	SecretKeyRef *KeyRef `yaml:"secretKeyRef,omitempty" json:"secretKeyRef,omitempty"`
	// ConfigMapKeyRef takes the content from a key of a ConfigMap.
	ConfigMapKeyRef *KeyRef `yaml:"configMapKeyRef,omitempty" json:"configMapKeyRef,omitempty"`
}

// KeyRef names a key of a Secret or ConfigMap in the run's namespace.
type KeyRef struct {
	// Name of the Secret or ConfigMap.
	Name string `yaml:"name" json:"name"`
	// Key in its data.
	Key string `yaml:"key" json:"key"`
}

// Reports says where a test writes its reports.
type Reports struct {
	// Dir is the report directory in the test container (default /reports); --report-dir overrides it.
	Dir string `yaml:"dir,omitempty" json:"dir,omitempty"`
	// Format of the reports written there: junit (the default and, for now, the only one).
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
}

// Resources are the requests and limits of the test container, as quantities ("500m", "1Gi").
type Resources struct {
	// Requests by resource name (cpu, memory, ephemeral-storage, …).
	Requests map[string]string `yaml:"requests,omitempty" json:"requests,omitempty"`
	// Limits by resource name.
	Limits map[string]string `yaml:"limits,omitempty" json:"limits,omitempty"`
}

// TestConfig is the global configuration of a repository, in .testrun/config.yaml: configuration entries
// every run started there gets, unless the run or its definition gives an entry of the same name.
type TestConfig struct {
	// APIVersion must be APIVersion.
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Kind must be KindConfig.
	Kind string `yaml:"kind" json:"kind"`
	// Metadata is optional.
	Metadata Metadata `yaml:"metadata,omitempty" json:"metadata,omitzero"`
	// Spec holds the entries.
	Spec ConfigSpec `yaml:"spec" json:"spec"`
}

// ConfigSpec holds global configuration entries.
type ConfigSpec struct {
	// Config entries, in the same shape as a definition's.
	Config []Config `yaml:"config,omitempty" json:"config,omitempty"`
}

// Origin is where a definition was found.
type Origin string

// The places definitions are found.
const (
	// OriginShipped is a plugin carried in the binary (the repository's plugins/ directory).
	OriginShipped Origin = "shipped"
	// OriginLocal is a definition of the repository, in its .testrun/ directory.
	OriginLocal Origin = ".testrun"
	// OriginFile is a definition given with -f.
	OriginFile Origin = "file"
)

// Source is where a definition came from.
type Source struct {
	// Origin is shipped, .testrun or file.
	Origin Origin
	// File is the path the definition was read from, as errors show it.
	File string
}

// Description returns the "description" annotation.
func (d *Definition) Description() string {
	return d.Metadata.Annotations[AnnotationDescription]
}

// TimeoutDuration returns the parsed timeout; 0 when the definition sets none. Parse has checked it.
func (d *Definition) TimeoutDuration() time.Duration {
	if d.Spec.Timeout == "" {
		return 0
	}
	t, err := time.ParseDuration(d.Spec.Timeout)
	if err != nil {
		return 0
	}
	return t
}
