package definition

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-testrun/kubectl-testrun/plugins"
)

// shippedPlugins are the plugins the binary must carry.
var shippedPlugins = []string{"ginkgo", "go-test", "jest", "kubernetes-e2e", "pytest", "shell"}

// Every shipped definition parses, validates, says what its image needs, and writes JUnit into the report
// directory the plugin exports.
func TestShippedPlugins(t *testing.T) {
	c, err := Discover(fstest.MapFS{}, ".testrun", plugins.FS)
	if err != nil {
		t.Fatalf("the shipped plugins must parse: %v", err)
	}
	if diff := cmp.Diff(shippedPlugins, names(c.Shipped)); diff != "" {
		t.Errorf("shipped plugins (-want +got):\n%s", diff)
	}
	for _, d := range c.Shipped {
		t.Run(d.Metadata.Name, func(t *testing.T) {
			if d.Source != (Source{Origin: OriginShipped, File: "plugins/" + d.Metadata.Name + ".yaml"}) {
				t.Errorf("source = %+v, want the shipped file named after the plugin", d.Source)
			}
			if d.Spec.Image != "" {
				t.Errorf("a shipped plugin names no image (the user's image runs it), got %q", d.Spec.Image)
			}
			if d.Spec.Requires == "" || d.Description() == "" {
				t.Errorf("requires (%q) and the description (%q) tell the user what the image needs and what it does", d.Spec.Requires, d.Description())
			}
			if d.Metadata.Labels["framework"] != d.Metadata.Name {
				t.Errorf("label framework = %q, want %q so that --selector framework=NAME finds it", d.Metadata.Labels["framework"], d.Metadata.Name)
			}
			if d.Spec.Reports.Format != DefaultReportFormat {
				t.Errorf("reports.format = %q, want junit", d.Spec.Reports.Format)
			}
			words := slices.Concat(d.Spec.Command, d.Spec.Args)
			for _, e := range d.Spec.Env {
				words = append(words, e.Value)
			}
			all := strings.Join(words, "\n")
			if !strings.Contains(all, "$(TESTRUN_REPORT_DIR)") && !strings.Contains(all, "${TESTRUN_REPORT_DIR") {
				t.Errorf("the JUnit report must go into $TESTRUN_REPORT_DIR, which the plugin fetches:\n%s", all)
			}
			// Kubernetes turns $$ into $ in commands, args and env values, so a script must not use it.
			if strings.Contains(all, "$$") {
				t.Errorf("the definition uses $$, which Kubernetes turns into $:\n%s", all)
			}
		})
	}
}

func def(name, labels string) string {
	return "apiVersion: testrun.dev/v1alpha1\nkind: TestDefinition\nmetadata:\n  name: " + name + "\n  labels: {" + labels + "}\nspec:\n  image: x:1\n"
}

const globalConfig = "apiVersion: testrun.dev/v1alpha1\nkind: TestConfig\nspec:\n  config:\n  - {name: A, type: env, value: a}\n"

func TestDiscover(t *testing.T) {
	local := fstest.MapFS{
		"api.yaml":       {Data: []byte(def("api", "suite: smoke"))},
		"pytest.yml":     {Data: []byte(def("pytest", "suite: smoke, framework: pytest"))},
		"nightly.yaml":   {Data: []byte(def("nightly", "suite: nightly"))},
		"config.yaml":    {Data: []byte(globalConfig)},
		"README.md":      {Data: []byte("not a definition")},
		".hidden.yaml":   {Data: []byte("not: read")},
		"sub/other.yaml": {Data: []byte("not: read")},
	}
	c, err := Discover(local, ".testrun", plugins.FS)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if diff := cmp.Diff([]string{"api", "nightly", "pytest"}, names(c.Local)); diff != "" {
		t.Errorf("local definitions, by file name (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Config{envEntry("A", "a")}, c.GlobalConfig()); diff != "" {
		t.Errorf("global config (-want +got):\n%s", diff)
	}
	if got := names(c.All()); !slices.Equal(got, []string{"api", "nightly", "pytest", "ginkgo", "go-test", "jest", "kubernetes-e2e", "shell"}) {
		t.Errorf("All = %v: the local ones first, and the local pytest shadows the shipped one", got)
	}

	tests := []struct {
		name       string
		find       func() (*Definition, error)
		wantSource Source
		wantErr    string
	}{
		{name: "local", find: func() (*Definition, error) { return c.Find("api") }, wantSource: Source{OriginLocal, ".testrun/api.yaml"}},
		{name: "local shadows shipped", find: func() (*Definition, error) { return c.Find("pytest") }, wantSource: Source{OriginLocal, ".testrun/pytest.yml"}},
		{name: "shipped", find: func() (*Definition, error) { return c.Find("jest") }, wantSource: Source{OriginShipped, "plugins/jest.yaml"}},
		{name: "plugin ignores local", find: func() (*Definition, error) { return c.Plugin("pytest") }, wantSource: Source{OriginShipped, "plugins/pytest.yaml"}},
		{name: "unknown", find: func() (*Definition, error) { return c.Find("e2e") }, wantErr: `no definition named "e2e" in .testrun/ or among the shipped plugins (api, nightly, pytest, ginkgo, go-test, jest, kubernetes-e2e, shell)`},
		{name: "unknown plugin", find: func() (*Definition, error) { return c.Plugin("api") }, wantErr: `no shipped plugin named "api": use one of ginkgo, go-test, jest, kubernetes-e2e, pytest, shell`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.find()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Source != tt.wantSource {
				t.Errorf("source = %+v, want %+v", d.Source, tt.wantSource)
			}
		})
	}

	selectTests := []struct {
		selector string
		want     []string
	}{
		{"suite=smoke", []string{"api", "pytest"}},
		{"suite in (smoke,nightly),framework!=pytest", []string{"api", "nightly"}},
		{"framework=jest", []string{"jest"}},
		{"language=go", []string{"ginkgo", "go-test", "kubernetes-e2e"}},
		{"suite=none", nil},
	}
	for _, tt := range selectTests {
		t.Run("select "+tt.selector, func(t *testing.T) {
			selector, err := labels.Parse(tt.selector)
			if err != nil {
				t.Fatal(err)
			}
			got := names(c.Select(selector))
			if len(got) == 0 {
				got = nil
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Select(%s) (-want +got):\n%s", tt.selector, diff)
			}
		})
	}
}

func TestDiscoverErrors(t *testing.T) {
	tests := []struct {
		name    string
		local   fstest.MapFS
		wantErr string
	}{
		{
			name:    "a broken definition fails discovery",
			local:   fstest.MapFS{"a.yaml": {Data: []byte(def("a", "") + "  timout: 1m\n")}, "b.yaml": {Data: []byte(def("b", ""))}},
			wantErr: `definition file ".testrun/a.yaml": line 8: unknown field "timout" in spec: did you mean "timeout"?`,
		},
		{
			name:    "the same name twice",
			local:   fstest.MapFS{"a.yaml": {Data: []byte(def("api", ""))}, "b.yaml": {Data: []byte(def("api", ""))}},
			wantErr: `definition file ".testrun/b.yaml": definition "api" is also defined in ".testrun/a.yaml": rename one of them`,
		},
		{
			name:    "a TestConfig in another file",
			local:   fstest.MapFS{"global.yaml": {Data: []byte(globalConfig)}},
			wantErr: `definition file ".testrun/global.yaml" holds a TestConfig: the global configuration belongs in .testrun/config.yaml`,
		},
		{
			name:    "a definition in config.yaml",
			local:   fstest.MapFS{"config.yaml": {Data: []byte(def("a", ""))}},
			wantErr: `definition file ".testrun/config.yaml" holds a TestDefinition, but config.yaml is the global TestConfig: move the definition to a file of its own in .testrun`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Discover(tt.local, ".testrun", plugins.FS)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// A run that needs no definition of the repository (-f, --plugin, a plain run) reads only its global
// configuration, so an unrelated broken definition does not stop it; a broken config.yaml does.
func TestDiscoverShipped(t *testing.T) {
	local := fstest.MapFS{"broken.yaml": {Data: []byte("imagee: x\n")}, "config.yaml": {Data: []byte(globalConfig)}}
	c, err := DiscoverShipped(local, ".testrun", plugins.FS)
	if err != nil {
		t.Fatalf("DiscoverShipped: %v", err)
	}
	if len(c.Local) != 0 || len(c.Shipped) != len(shippedPlugins) || len(c.GlobalConfig()) != 1 {
		t.Errorf("DiscoverShipped read %d local, %d shipped, %d config entries; want 0, %d, 1", len(c.Local), len(c.Shipped), len(c.GlobalConfig()), len(shippedPlugins))
	}
	if _, err := DiscoverShipped(fstest.MapFS{}, ".testrun", plugins.FS); err != nil {
		t.Errorf("no .testrun/ at all is fine, got: %v", err)
	}
	local["config.yaml"] = &fstest.MapFile{Data: []byte("kind: TestConfig\n")}
	if _, err := DiscoverShipped(local, ".testrun", plugins.FS); err == nil || !strings.Contains(err.Error(), `definition file ".testrun/config.yaml": line 1: apiVersion`) {
		t.Errorf("a broken config.yaml must fail, got: %v", err)
	}
}

func TestReadFile(t *testing.T) {
	d, err := ReadFile("suites/api.yaml", []byte(def("api", "")))
	if err != nil {
		t.Fatal(err)
	}
	if d.Source != (Source{Origin: OriginFile, File: "suites/api.yaml"}) {
		t.Errorf("source = %+v, want the file given with -f", d.Source)
	}
}
