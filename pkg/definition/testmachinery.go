package definition

import "go.yaml.in/yaml/v3"

// The documents of Gardener's TestMachinery that run client-only, unchanged (docs/testmachinery.md).
const (
	// TMGroup is the API group of TestMachinery's documents.
	TMGroup = "testmachinery.sapcloud.io"
	// TMAPIVersion is the only version of TestMachinery's documents that is read.
	TMAPIVersion = TMGroup + "/v1beta1"
	// KindTestrun is the kind of a TestMachinery Testrun: a flow of steps over its TestDefinitions.
	KindTestrun = "Testrun"
	// TMDefinitionsDir is the directory of a location that holds its TestMachinery TestDefinitions.
	TMDefinitionsDir = ".test-defs"

	// TMBaseImage is the image TestMachinery gives a TestDefinition that names none.
	TMBaseImage = "europe-docker.pkg.dev/gardener-project/releases/testmachinery/base-step:latest"
	// TMDefaultDeadline is the activeDeadlineSeconds TestMachinery gives a TestDefinition that sets none.
	TMDefaultDeadline = 600

	// TMRepoPath is where TestMachinery mounts a TestDefinition's location, and the test's working directory.
	TMRepoPath = "/src"
	// TMExportPath is TM_EXPORT_PATH: the run's report directory, so that what a test exports comes home.
	TMExportPath = "/tmp/tm/export"
	// TMKubeconfigPath is TM_KUBECONFIG_PATH, the directory of the Testrun's kubeconfigs, <name>.config each.
	TMKubeconfigPath = "/tmp/tm/kubeconfig"

	// TMBehaviorSerial keeps a TestDefinition's runs from running at the same time as any other run.
	TMBehaviorSerial = "serial"
	// TMBehaviorDisruptive is serial too, and its step never continues on error.
	TMBehaviorDisruptive = "disruptive"
)

// TMDefinition is one TestMachinery TestDefinition document, with TestMachinery's field names. The fields of
// the TM types mean what they mean to TestMachinery; docs/testmachinery.md says what each becomes here.
type TMDefinition struct {
	// APIVersion is TMAPIVersion; TestMachinery's own examples leave it out, and so may a .test-defs/ file.
	APIVersion string     `yaml:"apiVersion,omitempty"`
	Kind       string     `yaml:"kind"`
	Metadata   TMMetadata `yaml:"metadata"`
	Spec       TMDefSpec  `yaml:"spec"`

	// File is where the document was read; it is not part of the document.
	File string `yaml:"-"`
}

// TMMetadata is the part of a Kubernetes object's metadata a TestMachinery document may carry; only the
// names are used.
type TMMetadata struct {
	Name         string            `yaml:"name,omitempty"`
	GenerateName string            `yaml:"generateName,omitempty"`
	Namespace    string            `yaml:"namespace,omitempty"`
	Labels       map[string]string `yaml:"labels,omitempty"`
	Annotations  map[string]string `yaml:"annotations,omitempty"`
}

// TMDefSpec is how a TestMachinery test runs.
type TMDefSpec struct {
	Owner               string `yaml:"owner,omitempty"`
	RecipientsOnFailure any    `yaml:"recipientsOnFailure,omitempty"`
	Description         string `yaml:"description,omitempty"`
	// Labels are the names a step's definition.label expression matches.
	Labels   []string `yaml:"labels,omitempty"`
	Behavior []string `yaml:"behavior,omitempty"`
	// ActiveDeadlineSeconds is an integer or a string holding one.
	ActiveDeadlineSeconds yaml.Node   `yaml:"activeDeadlineSeconds,omitempty"`
	Command               []string    `yaml:"command"`
	Args                  []string    `yaml:"args,omitempty"`
	Image                 string      `yaml:"image,omitempty"`
	Config                []TMConfig  `yaml:"config,omitempty"`
	Resources             TMResources `yaml:"resources,omitempty"`
}

// TMResources are a container's requests and limits.
type TMResources struct {
	Requests map[string]string `yaml:"requests,omitempty"`
	Limits   map[string]string `yaml:"limits,omitempty"`
}

// TMConfig is a TestMachinery configuration element: an environment variable, or a file whose literal value
// is base64-encoded.
type TMConfig struct {
	Type      ConfigType `yaml:"type"`
	Name      string     `yaml:"name"`
	Private   *bool      `yaml:"private,omitempty"`
	Value     string     `yaml:"value,omitempty"`
	ValueFrom *ValueFrom `yaml:"valueFrom,omitempty"`
	Path      string     `yaml:"path,omitempty"`
}

// Testrun is one TestMachinery Testrun document.
type Testrun struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Metadata   TMMetadata  `yaml:"metadata"`
	Spec       TestrunSpec `yaml:"spec"`

	// File is where the document was read; it is not part of the document.
	File string `yaml:"-"`
}

// TestrunSpec is the flow of a Testrun, where its TestDefinitions are, and what every step gets.
type TestrunSpec struct {
	Creator                 string          `yaml:"creator,omitempty"`
	TTLSecondsAfterFinished *int64          `yaml:"ttlSecondsAfterFinished,omitempty"`
	TestLocations           []TMLocation    `yaml:"testLocations,omitempty"`
	LocationSets            []TMLocationSet `yaml:"locationSets,omitempty"`
	// Kubeconfigs are each a base64 kubeconfig or a secretKeyRef/configMapKeyRef mapping.
	Kubeconfigs TMKubeconfigs `yaml:"kubeconfigs,omitempty"`
	Config      []TMConfig    `yaml:"config,omitempty"`
	TestFlow    []TMStep      `yaml:"testflow,omitempty"`
	OnExit      []TMStep      `yaml:"onExit,omitempty"`
}

// TMKubeconfigs are the kubeconfigs mounted into every step at TMKubeconfigPath/<name>.config.
type TMKubeconfigs struct {
	Host     yaml.Node `yaml:"host,omitempty"`
	Gardener yaml.Node `yaml:"gardener,omitempty"`
	Seed     yaml.Node `yaml:"seed,omitempty"`
	Shoot    yaml.Node `yaml:"shoot,omitempty"`
}

// TMLocation is where TestDefinitions are found: a local directory holding .test-defs/ (type local).
type TMLocation struct {
	Type     string `yaml:"type"`
	Repo     string `yaml:"repo,omitempty"`
	Revision string `yaml:"revision,omitempty"`
	HostPath string `yaml:"hostPath,omitempty"`
}

// TMLocationSet is a named list of locations; a step names it in definition.locationSet.
type TMLocationSet struct {
	Name      string       `yaml:"name"`
	Default   bool         `yaml:"default,omitempty"`
	Locations []TMLocation `yaml:"locations"`
}

// TMStep is one step of a Testrun's testflow or onExit.
type TMStep struct {
	Name               string            `yaml:"name"`
	Definition         TMStepDefinition  `yaml:"definition"`
	DependsOn          []string          `yaml:"dependsOn,omitempty"`
	UseGlobalArtifacts bool              `yaml:"useGlobalArtifacts,omitempty"`
	ArtifactsFrom      string            `yaml:"artifactsFrom,omitempty"`
	Pause              *TMPause          `yaml:"pause,omitempty"`
	Annotations        map[string]string `yaml:"annotations,omitempty"`

	// Line is where the step starts in its file; it is not part of the document.
	Line int `yaml:"-"`
}

// TMStepDefinition chooses the TestDefinitions of a step, by name or by label expression ("default,!beta").
type TMStepDefinition struct {
	Name            string     `yaml:"name,omitempty"`
	Label           string     `yaml:"label,omitempty"`
	ContinueOnError bool       `yaml:"continueOnError,omitempty"`
	Condition       string     `yaml:"condition,omitempty"`
	Config          []TMConfig `yaml:"config,omitempty"`
	LocationSet     *string    `yaml:"locationSet,omitempty"`
	Untrusted       bool       `yaml:"untrusted,omitempty"`
}

// TMPause is TestMachinery's pause before a step, which needs its controller to resume.
type TMPause struct {
	Enabled              bool `yaml:"enabled,omitempty"`
	ResumeTimeoutSeconds *int `yaml:"resumeTimeoutSeconds,omitempty"`
}
