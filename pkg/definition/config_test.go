package definition

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

func envEntry(name, value string) Config {
	return Config{Name: name, Type: ConfigEnv, Value: ptrTo(value)}
}

// The precedence of TestMachinery: definition over run over global; an override takes the overridden
// entry's place.
func TestMergeConfig(t *testing.T) {
	file := Config{Name: "B", Type: ConfigFile, Path: "/b", Value: ptrTo("from the definition")}
	tests := []struct {
		name             string
		global, run, def []Config
		want             []Config
	}{
		{name: "nothing"},
		{name: "global alone", global: []Config{envEntry("A", "g")}, want: []Config{envEntry("A", "g")}},
		{
			name:   "run overrides global",
			global: []Config{envEntry("A", "g"), envEntry("B", "g")},
			run:    []Config{envEntry("B", "r"), envEntry("C", "r")},
			want:   []Config{envEntry("A", "g"), envEntry("B", "r"), envEntry("C", "r")},
		},
		{
			name:   "definition overrides run and global",
			global: []Config{envEntry("A", "g"), envEntry("B", "g")},
			run:    []Config{envEntry("A", "r"), envEntry("B", "r")},
			def:    []Config{envEntry("A", "d")},
			want:   []Config{envEntry("A", "d"), envEntry("B", "r")},
		},
		{
			name:   "an override replaces the whole entry, type and source too",
			global: []Config{envEntry("B", "g")},
			def:    []Config{file},
			want:   []Config{file},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MergeConfig(tt.global, tt.run, tt.def)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MergeConfig (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPathEnvName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"kubeconfig", "KUBECONFIG"},
		{"seed.kubeconfig", "SEED_KUBECONFIG"},
		{"api-token", "API_TOKEN"},
		{"Settings_v2.json", "SETTINGS_V2_JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PathEnvName(tt.name); got != tt.want {
				t.Errorf("PathEnvName(%q) = %q, want %q", tt.name, got, tt.want)
			}
			if got := (Config{Name: tt.name, Type: ConfigFile}).EnvName(); got != tt.want {
				t.Errorf("EnvName of file entry %q = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
	if got := (Config{Name: "api-token", Type: ConfigEnv}).EnvName(); got != "api-token" {
		t.Errorf("an env entry sets the variable of its own name, got %q", got)
	}
}

// Each source, as an environment variable and as a file, becomes what BuildJob renders.
func TestRender(t *testing.T) {
	secret := &KeyRef{Name: "creds", Key: "token"}
	configMap := &KeyRef{Name: "settings", Key: "url"}
	env, files := Render([]Config{
		envEntry("VALUE", "literal"),
		{Name: "SECRET", Type: ConfigEnv, ValueFrom: &ValueFrom{SecretKeyRef: secret}},
		{Name: "CONFIGMAP", Type: ConfigEnv, ValueFrom: &ValueFrom{ConfigMapKeyRef: configMap}},
		{Name: "value.txt", Type: ConfigFile, Path: "/etc/value.txt", Value: ptrTo("line\n")},
		{Name: "kubeconfig", Type: ConfigFile, Path: "/etc/kube/config", ValueFrom: &ValueFrom{SecretKeyRef: secret}},
		{Name: "api-url", Type: ConfigFile, Path: "/etc/api-url", ValueFrom: &ValueFrom{ConfigMapKeyRef: configMap}},
	})
	secretSelector := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "token"}
	configMapSelector := &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "url"}
	wantEnv := []corev1.EnvVar{
		{Name: "VALUE", Value: "literal"},
		{Name: "SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: secretSelector}},
		{Name: "CONFIGMAP", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: configMapSelector}},
		{Name: "VALUE_TXT", Value: "/etc/value.txt"},
		{Name: "KUBECONFIG", Value: "/etc/kube/config"},
		{Name: "API_URL", Value: "/etc/api-url"},
	}
	if diff := cmp.Diff(wantEnv, env); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
	wantFiles := []runspec.ConfigFile{
		{Name: "value.txt", Path: "/etc/value.txt", Value: "line\n"},
		{Name: "kubeconfig", Path: "/etc/kube/config", SecretKeyRef: secretSelector},
		{Name: "api-url", Path: "/etc/api-url", ConfigMapKeyRef: configMapSelector},
	}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}
