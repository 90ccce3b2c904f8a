package definition

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// valid is a definition that sets every field, so each error case below differs from it by one mistake.
const valid = `apiVersion: testrun.dev/v1alpha1
kind: TestDefinition
metadata:
  name: e2e-api
  labels:
    suite: smoke
  annotations:
    description: the API suite
spec:
  image: registry.example/api-tests:3
  command: [python3, -m, pytest]
  args: [tests/api]
  env:
  - name: API_URL
    value: http://api
  config:
  - name: TOKEN
    type: env
    valueFrom:
      secretKeyRef: {name: api-creds, key: token}
  - name: kubeconfig
    type: file
    path: /etc/kube/config
    valueFrom:
      configMapKeyRef: {name: clusters, key: staging}
  - name: settings.json
    type: file
    path: /etc/app/settings.json
    value: '{"retries": 3}'
  reports:
    dir: /out
    format: junit
  resources:
    requests: {cpu: 500m, memory: 256Mi}
    limits: {memory: 1Gi}
  timeout: 20m
  labels:
    team: api
  requires: python3 with pytest
`

func ptrTo[T any](v T) *T { return &v }

func TestParseValid(t *testing.T) {
	got, err := Parse("e2e-api.yaml", []byte(valid))
	if err != nil {
		t.Fatalf("Parse of a valid definition: %v", err)
	}
	want := &Definition{
		APIVersion: APIVersion,
		Kind:       KindDefinition,
		Metadata: Metadata{
			Name:        "e2e-api",
			Labels:      map[string]string{"suite": "smoke"},
			Annotations: map[string]string{"description": "the API suite"},
		},
		Spec: Spec{
			Image:   "registry.example/api-tests:3",
			Command: []string{"python3", "-m", "pytest"},
			Args:    []string{"tests/api"},
			Env:     []EnvVar{{Name: "API_URL", Value: "http://api"}},
			Config: []Config{
				{Name: "TOKEN", Type: ConfigEnv, ValueFrom: &ValueFrom{SecretKeyRef: &KeyRef{Name: "api-creds", Key: "token"}}},
				{Name: "kubeconfig", Type: ConfigFile, Path: "/etc/kube/config", ValueFrom: &ValueFrom{ConfigMapKeyRef: &KeyRef{Name: "clusters", Key: "staging"}}},
				{Name: "settings.json", Type: ConfigFile, Path: "/etc/app/settings.json", Value: ptrTo(`{"retries": 3}`)},
			},
			Reports:   Reports{Dir: "/out", Format: "junit"},
			Resources: Resources{Requests: map[string]string{"cpu": "500m", "memory": "256Mi"}, Limits: map[string]string{"memory": "1Gi"}},
			Timeout:   "20m",
			Labels:    map[string]string{"team": "api"},
			Requires:  "python3 with pytest",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	if d := got.TimeoutDuration().String(); d != "20m0s" {
		t.Errorf("TimeoutDuration = %s, want 20m0s", d)
	}
	if got.Description() != "the API suite" {
		t.Errorf("Description = %q, want the description annotation", got.Description())
	}
}

// Every mistake is reported with the file, the line and the field, and says what to do.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{
			name:    "typo in a spec field",
			doc:     strings.Replace(valid, "  image:", "  imagee:", 1),
			wantErr: `definition file "f.yaml": line 10: unknown field "imagee" in spec: did you mean "image"?`,
		},
		{
			name:    "typo at the top level",
			doc:     strings.Replace(valid, "kind:", "knd:", 1),
			wantErr: `line 2: unknown field "knd" in the top level: did you mean "kind"?`,
		},
		{
			name:    "wrong case deep in a config entry",
			doc:     strings.Replace(valid, "configMapKeyRef:", "configmapKeyRef:", 1),
			wantErr: `line 25: unknown field "configmapKeyRef" in spec.config[1].valueFrom: did you mean "configMapKeyRef"?`,
		},
		{
			name:    "unknown field with no near name lists the fields",
			doc:     strings.Replace(valid, "  timeout: 20m", "  parallelism: 3", 1),
			wantErr: `line 36: unknown field "parallelism" in spec: the fields there are image, command, args, workingDir, env, config, reports, resources, timeout, labels, requires, podTemplatePatch, podTemplatePatchType`,
		},
		{
			name:    "a string where a list belongs",
			doc:     strings.Replace(valid, "args: [tests/api]", "args: tests/api", 1),
			wantErr: "line 12: cannot use !!str `tests/api` as a list of strings",
		},
		{
			name:    "two mistakes, both reported",
			doc:     strings.Replace(strings.Replace(valid, "  image:", "  imagee:", 1), "  labels:\n    team", "  label:\n    team", 1),
			wantErr: `line 10: unknown field "imagee" in spec: did you mean "image"?` + "\n" + `definition file "f.yaml": line 37: unknown field "label" in spec: did you mean "labels"?`,
		},
		{name: "YAML syntax", doc: "apiVersion: testrun.dev/v1alpha1\nkind: [\n", wantErr: `definition file "f.yaml": line 2: did not find expected node content: fix the YAML syntax`},
		{name: "duplicate key", doc: strings.Replace(valid, "  timeout: 20m", "  timeout: 20m\n  timeout: 30m", 1), wantErr: `mapping key "timeout" already defined at line 36`},
		{name: "empty file", doc: "", wantErr: `definition file "f.yaml" is empty: start it with apiVersion: testrun.dev/v1alpha1`},
		{name: "not a mapping", doc: "- a\n- b\n", wantErr: `line 1: the document is not a mapping`},
		{name: "two documents", doc: valid + "---\n" + valid, wantErr: `line 40: a second YAML document: put each definition in a file of its own`},
		{name: "old apiVersion", doc: strings.Replace(valid, "v1alpha1", "v1", 1), wantErr: `line 1: apiVersion: "testrun.dev/v1" is not supported: use testrun.dev/v1alpha1`},
		{name: "no apiVersion", doc: strings.Replace(valid, "apiVersion: testrun.dev/v1alpha1\n", "", 1), wantErr: "line 1: apiVersion: apiVersion is missing"},
		{name: "wrong kind", doc: strings.Replace(valid, "kind: TestDefinition", "kind: TestConfig", 1), wantErr: `line 2: kind: kind "TestConfig" is not expected here: use TestDefinition`},
		{name: "no name", doc: strings.Replace(valid, "  name: e2e-api\n", "", 1), wantErr: `line 3: metadata.name: the name is missing`},
		{name: "name with capitals", doc: strings.Replace(valid, "name: e2e-api", "name: E2E", 1), wantErr: `line 4: metadata.name: "E2E" is not a valid name`},
		{name: "name too long for a run name", doc: strings.Replace(valid, "name: e2e-api", "name: "+strings.Repeat("a", 58), 1), wantErr: "at most 57"},
		{name: "bad selector label", doc: strings.Replace(valid, "suite: smoke", "suite: a b", 1), wantErr: `line 6: metadata.labels.suite: "a b" is not a valid label value`},
		{name: "image with a space", doc: strings.Replace(valid, "api-tests:3", "api tests:3", 1), wantErr: `line 10: spec.image: image "registry.example/api tests:3" contains whitespace`},
		{name: "env without a name", doc: strings.Replace(valid, "- name: API_URL\n    value", "- value", 1), wantErr: "line 14: spec.env[0].name: the variable has no name"},
		{name: "config without a type", doc: strings.Replace(valid, "    type: env\n", "", 1), wantErr: "line 17: spec.config[0].type: the type is missing: use env or file"},
		{name: "config of an unknown type", doc: strings.Replace(valid, "type: env", "type: envvar", 1), wantErr: `line 18: spec.config[0].type: type "envvar" is not env or file`},
		{name: "file without a path", doc: strings.Replace(valid, "    path: /etc/kube/config\n", "", 1), wantErr: "line 21: spec.config[1].path: a file needs a path"},
		{name: "file with a relative path", doc: strings.Replace(valid, "path: /etc/kube/config", "path: kube/config", 1), wantErr: `line 23: spec.config[1].path: "kube/config" is not an absolute path`},
		{name: "env with a path", doc: strings.Replace(valid, "    type: env\n", "    type: env\n    path: /x\n", 1), wantErr: "line 19: spec.config[0].path: path is only for type file"},
		{name: "no source", doc: strings.Replace(valid, "    value: '{\"retries\": 3}'\n", "", 1), wantErr: "line 26: spec.config[2]: no content: give exactly one of value, valueFrom.secretKeyRef or valueFrom.configMapKeyRef"},
		{name: "two sources", doc: strings.Replace(valid, "      secretKeyRef: {name: api-creds, key: token}", "      secretKeyRef: {name: api-creds, key: token}\n      configMapKeyRef: {name: c, key: k}", 1), wantErr: "line 17: spec.config[0]: more than one source"},
		{name: "empty valueFrom", doc: strings.Replace(valid, "      secretKeyRef: {name: api-creds, key: token}", "      {}", 1), wantErr: "line 19: spec.config[0].valueFrom: valueFrom is empty"},
		{name: "secret without a key", doc: strings.Replace(valid, "{name: api-creds, key: token}", "{name: api-creds}", 1), wantErr: "line 20: spec.config[0].valueFrom.secretKeyRef.key: the key is missing: name the key of the Secret to take"},
		{name: "bad ConfigMap name", doc: strings.Replace(valid, "{name: clusters, key: staging}", "{name: Clusters!, key: staging}", 1), wantErr: `line 25: spec.config[1].valueFrom.configMapKeyRef.name: "Clusters!" is not a valid ConfigMap name`},
		{name: "bad entry name", doc: strings.Replace(valid, "name: TOKEN", "name: 1TOKEN", 1), wantErr: `line 17: spec.config[0].name: "1TOKEN" is not a valid entry name`},
		{name: "entry given twice", doc: strings.Replace(valid, "name: kubeconfig", "name: TOKEN", 1), wantErr: `line 21: spec.config[1].name: entry "TOKEN" is given twice`},
		{name: "two entries, one variable", doc: strings.Replace(valid, "name: kubeconfig", "name: token", 1), wantErr: `line 21: spec.config[1].name: entry "token" and entry "TOKEN" both become the variable TOKEN`},
		{name: "two files, one path", doc: strings.Replace(valid, "path: /etc/app/settings.json", "path: /etc/kube/config/", 1), wantErr: `line 28: spec.config[2].path: path "/etc/kube/config/" is used by another entry`},
		{name: "relative report dir", doc: strings.Replace(valid, "dir: /out", "dir: out", 1), wantErr: `line 31: spec.reports.dir: "out" is not an absolute path`},
		{name: "unknown report format", doc: strings.Replace(valid, "format: junit", "format: tap", 1), wantErr: `line 32: spec.reports.format: format "tap" is not supported: use junit`},
		{name: "bad quantity", doc: strings.Replace(valid, "cpu: 500m", "cpu: lots", 1), wantErr: `line 34: spec.resources.requests.cpu: "lots" is not a quantity`},
		{name: "timeout in words", doc: strings.Replace(valid, "timeout: 20m", "timeout: 20 minutes", 1), wantErr: `line 36: spec.timeout: "20 minutes" is not a duration: use Go syntax such as 30m or 1h30m`},
		{name: "relative workingDir", doc: strings.Replace(valid, "  timeout: 20m", "  workingDir: src\n  timeout: 20m", 1), wantErr: `line 36: spec.workingDir: "src" is not an absolute path: use one such as /src`},
		{name: "negative timeout", doc: strings.Replace(valid, "timeout: 20m", "timeout: -1m", 1), wantErr: `line 36: spec.timeout: "-1m" is not positive`},
		{name: "reserved label", doc: strings.Replace(valid, "team: api", "testrun.dev/name: x", 1), wantErr: `line 38: spec.labels.testrun.dev/name: label "testrun.dev/name" is set by kubectl-testrun itself`},
		{name: "split wrap without its launcher", doc: strings.Replace(valid, "  timeout: 20m", "  timeout: 20m\n  sharding: {split: wrap}", 1), wantErr: `spec.sharding.wrap: split: wrap needs the launcher`},
		{name: "wrap with split env", doc: strings.Replace(valid, "  timeout: 20m", "  timeout: 20m\n  sharding: {split: env, wrap: [launch]}", 1), wantErr: `spec.sharding.wrap: wrap is for split: wrap; with split: env it is not used`},
		{name: "args with split wrap", doc: strings.Replace(valid, "  timeout: 20m", "  timeout: 20m\n  sharding: {split: wrap, wrap: [launch], args: [-x]}", 1), wantErr: `spec.sharding.args: args are for split: args; with split: wrap they are not used`},
		{name: "unknown split", doc: strings.Replace(valid, "  timeout: 20m", "  timeout: 20m\n  sharding: {split: files}", 1), wantErr: `spec.sharding.split: "files" is not a way to split: use env (the command reads TESTRUN_SHARD_INDEX and TESTRUN_SHARD_COUNT), args or wrap`},
		{name: "env set twice", doc: strings.Replace(valid, "    value: http://api\n", "    value: http://api\n  - name: API_URL\n    value: x\n", 1), wantErr: `line 16: spec.env[1].name: variable "API_URL" is set twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error does not contain %q:\n%v", tt.wantErr, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, `definition file "f.yaml"`) {
					t.Errorf("each error must name the file first, got %q", line)
				}
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    []Config
		wantErr string
	}{
		{
			name: "entries",
			doc:  "apiVersion: testrun.dev/v1alpha1\nkind: TestConfig\nspec:\n  config:\n  - {name: A, type: env, value: a}\n",
			want: []Config{{Name: "A", Type: ConfigEnv, Value: ptrTo("a")}},
		},
		{name: "no entries", doc: "apiVersion: testrun.dev/v1alpha1\nkind: TestConfig\nspec: {}\n"},
		{
			name:    "a definition's field",
			doc:     "apiVersion: testrun.dev/v1alpha1\nkind: TestConfig\nspec:\n  image: x\n",
			wantErr: `line 4: unknown field "image" in spec: the fields there are config`,
		},
		{
			name:    "wrong kind",
			doc:     "apiVersion: testrun.dev/v1alpha1\nkind: TestDefinition\nspec: {}\n",
			wantErr: `line 2: kind: kind "TestDefinition" is not expected here: use TestConfig`,
		},
		{
			name:    "bad entry",
			doc:     "apiVersion: testrun.dev/v1alpha1\nkind: TestConfig\nspec:\n  config:\n  - {name: A, type: file, value: a}\n",
			wantErr: `line 5: spec.config[0].path: a file needs a path`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig("config.yaml", []byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Spec.Config); diff != "" {
				t.Errorf("config entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		config  Config
		wantErr string
	}{
		{name: "env value", config: Config{Name: "API_URL", Type: ConfigEnv, Value: ptrTo("x")}},
		{name: "empty value is a value", config: Config{Name: "EMPTY", Type: ConfigEnv, Value: ptrTo("")}},
		{name: "dotted and dashed", config: Config{Name: "seed.kube-config", Type: ConfigFile, Path: "/k", Value: ptrTo("x")}},
		{name: "no name", config: Config{Type: ConfigEnv, Value: ptrTo("x")}, wantErr: `config entry "": name: the entry has no name`},
		{name: "ends with a dash", config: Config{Name: "A-", Type: ConfigEnv, Value: ptrTo("x")}, wantErr: `"A-" is not a valid entry name`},
		{name: "too long", config: Config{Name: strings.Repeat("A", 57), Type: ConfigEnv, Value: ptrTo("x")}, wantErr: "at most 56"},
		{name: "no source", config: Config{Name: "A", Type: ConfigEnv}, wantErr: `config entry "A": no content`},
		{name: "root as path", config: Config{Name: "a", Type: ConfigFile, Path: "/", Value: ptrTo("x")}, wantErr: "the root of the container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.config.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("want no error, got: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestKind(t *testing.T) {
	apiVersion, kind, err := Kind("c.yaml", []byte("apiVersion: testrun.dev/v1alpha1\nkind: TestConfig\nspec: {}\n"))
	if err != nil || apiVersion != APIVersion || kind != KindConfig {
		t.Errorf("Kind = %q, %q, %v; want %s, %s", apiVersion, kind, err, APIVersion, KindConfig)
	}
	if _, _, err := Kind("c.yaml", []byte("kind: [")); err == nil || !strings.Contains(err.Error(), `definition file "c.yaml": line 1`) {
		t.Errorf("Kind of broken YAML: %v, want an error naming the file and line", err)
	}
}

func TestClosest(t *testing.T) {
	known := []string{"image", "command", "args", "env", "config", "timeout", "labels"}
	tests := []struct{ field, want string }{
		{"imagee", "image"},
		{"Image", "image"},
		{"comand", "command"},
		{"label", "labels"},
		{"timout", "timeout"},
		{"parallelism", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			if got := closest(tt.field, known); got != tt.want {
				t.Errorf("closest(%q) = %q, want %q", tt.field, got, tt.want)
			}
		})
	}
}

func TestParseRefusesAnAliasBomb(t *testing.T) {
	// One anchor of 100 KB referenced 30 times: few nodes, which the YAML library's own alias check lets
	// through, but 3 MB once expanded.
	doc := "apiVersion: " + APIVersion + "\nkind: " + KindDefinition + "\nmetadata:\n  name: bomb\n  annotations:\n    a: &big " +
		strings.Repeat("x", 100<<10) + "\nspec:\n  image: busybox\n  args: [" + strings.TrimSuffix(strings.Repeat("*big, ", 30), ", ") + "]\n"
	_, err := Parse("bomb.yaml", []byte(doc))
	if err == nil || !strings.Contains(err.Error(), `definition file "bomb.yaml": its YAML aliases (*name) expand it to more than`) {
		t.Fatalf("Parse of an alias bomb = %v, want it refused for its aliases", err)
	}
}
