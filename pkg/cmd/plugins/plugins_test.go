package plugins_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd/plugins"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

const local = `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: api
  labels: {suite: smoke, team: api}
  annotations: {description: The API suite}
spec:
  image: api-tests:1
  requires: the API's test dependencies
`

// execute runs `kubectl testrun ARGS` in a working directory whose .testrun/ holds files.
func execute(t *testing.T, files map[string]string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, files)
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	root := cmd.NewCmdTestrun(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

// The table lists the repository's definitions first, then the shipped plugins, marking a shadowed one.
func TestPluginsTableGolden(t *testing.T) {
	files := map[string]string{
		".testrun/api.yaml":   local,
		".testrun/shell.yaml": strings.Replace(local, "name: api", "name: shell", 1),
	}
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{name: "table", args: []string{"plugins"}, golden: "plugins.golden.txt"},
		{name: "wide", args: []string{"plugins", "-o", "wide"}, golden: "plugins-wide.golden.txt"},
		{name: "by name", args: []string{"plugins", "api", "pytest"}, golden: "plugins-names.golden.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := filepath.Abs(filepath.Join("testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			got, err := execute(t, files, tt.args...)
			if err != nil {
				t.Fatalf("kubectl testrun %s: %v", strings.Join(tt.args, " "), err)
			}
			testkit.Golden(t, path, []byte(got))
		})
	}
}

// -o json prints the whole definitions, each with where it came from.
func TestPluginsDocument(t *testing.T) {
	out, err := execute(t, map[string]string{".testrun/api.yaml": local}, "plugins", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		APIVersion, Kind string
		Items            []struct {
			Metadata struct {
				Name        string
				Annotations map[string]string
			}
			Spec struct{ Image, Requires string }
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	var got []string
	for _, item := range list.Items {
		got = append(got, item.Metadata.Name+"@"+item.Metadata.Annotations["testrun.dev/source"])
	}
	want := []string{"api@.testrun/api.yaml", "ginkgo@shipped", "go-test@shipped", "jest@shipped", "kubernetes-e2e@shipped", "pytest@shipped", "shell@shipped"}
	if diff := cmp.Diff(want, got); diff != "" || list.Kind != "TestDefinitionList" || list.APIVersion != "testrun.dev/v1alpha1" {
		t.Errorf("%s %s with items (-want +got):\n%s", list.APIVersion, list.Kind, diff)
	}
	if list.Items[0].Spec.Image != "api-tests:1" || list.Items[0].Spec.Requires == "" {
		t.Errorf("items must be the whole definitions, got spec %+v", list.Items[0].Spec)
	}
}

func TestPluginsRejectsBadInput(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		want  string
	}{
		{name: "output", args: []string{"plugins", "-o", "name"}, want: `--output "name" is not supported: use wide, json or yaml`},
		{name: "unknown name", args: []string{"plugins", "nose"}, want: `no definition named "nose"`},
		{
			name:  "a broken definition",
			files: map[string]string{".testrun/api.yaml": strings.Replace(local, "requires:", "require:", 1)},
			args:  []string{"plugins"},
			want:  `definition file ".testrun/api.yaml": line 9: unknown field "require" in spec: did you mean "requires"?`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := execute(t, tt.files, tt.args...)
			if code := exitcode.Code(t.Context(), err); code != exitcode.CannotRun || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("exit code %d, error %v; want 125 and %q", code, err, tt.want)
			}
		})
	}
}

// -o yaml of one NAME prints that TestDefinition alone, which run -f reads back strictly, also into an empty
// file the shell created in .testrun/ first; of several, a TestDefinitionList annotated with the sources;
// a definition without labels or description shows <none>.
func TestPluginsYAMLAndDefinitionsWithoutLabels(t *testing.T) {
	bare := "apiVersion: testrun.dev/v1alpha1\nkind: TestDefinition\nmetadata: {name: bare}\nspec: {image: bare:1}\n"
	for _, name := range []string{"bare", "pytest"} {
		// .testrun/copy.yaml is what `kubectl testrun plugins NAME -o yaml > .testrun/copy.yaml` finds.
		out, err := execute(t, map[string]string{".testrun/bare.yaml": bare, ".testrun/copy.yaml": ""}, "plugins", "-o", "yaml", name)
		if err != nil {
			t.Fatalf("plugins -o yaml %s: %v", name, err)
		}
		d, err := definition.ReadFile("copy.yaml", []byte(out))
		if err != nil || d.Metadata.Name != name {
			t.Errorf("plugins -o yaml %s printed what run -f refuses (%v):\n%s", name, err, out)
		}
	}
	out, err := execute(t, map[string]string{".testrun/bare.yaml": bare}, "plugins", "-o", "yaml", "bare", "pytest")
	if err != nil {
		t.Fatalf("plugins -o yaml bare pytest: %v", err)
	}
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Metadata struct {
				Name        string            `json:"name"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := yaml.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, out)
	}
	if list.Kind != "TestDefinitionList" || len(list.Items) != 2 || list.Items[0].Metadata.Name != "bare" ||
		list.Items[0].Metadata.Annotations["testrun.dev/source"] != ".testrun/bare.yaml" {
		t.Errorf("plugins -o yaml bare pytest printed %+v, want a TestDefinitionList of bare from .testrun/bare.yaml and pytest:\n%s", list, out)
	}
	table, err := execute(t, map[string]string{".testrun/bare.yaml": bare}, "plugins", "-o", "wide", "bare")
	if err != nil {
		t.Fatalf("plugins -o wide bare: %v", err)
	}
	want := "NAME   SOURCE               LABELS   DESCRIPTION   REQUIRES\nbare   .testrun/bare.yaml   <none>   <none>        <none>\n"
	if diff := cmp.Diff(want, table); diff != "" {
		t.Errorf("plugins -o wide bare (-want +got):\n%s", diff)
	}
}

// With no definition anywhere the table says so on stderr and prints nothing on stdout.
func TestPluginsWithoutDefinitionsSaysSo(t *testing.T) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	o := plugins.NewOptions(streams)
	o.DefinitionsDir, o.Plugins = t.TempDir(), fstest.MapFS{}
	if err := o.Run(t.Context()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out.Len() != 0 || errOut.String() != "No definitions found.\n" {
		t.Errorf("stdout %q, stderr %q; want nothing and %q", out, errOut, "No definitions found.\n")
	}
}
