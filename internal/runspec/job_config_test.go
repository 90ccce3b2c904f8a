package runspec

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
)

// configSpec has a configuration file from each source and the CI's git metadata, so the golden file shows
// how each one reaches the test container without any permission beyond the documented Role.
func configSpec() Spec {
	s := minimalSpec()
	s.Name = "api-tests-q8m3v"
	s.GitSHA = "0123456789abcdef0123456789abcdef01234567"
	s.GitRef = "refs/heads/main"
	s.Env = []corev1.EnvVar{{Name: "SETTINGS", Value: "/etc/app/settings.json"}}
	s.Files = []ConfigFile{
		{Name: "settings", Path: "/etc/app/settings.json", Value: `{"retries": 3}`},
		{Name: "kubeconfig", Path: "/var/run/kube/config", SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "seed-kubeconfig"}, Key: "kubeconfig",
		}},
		{Name: "fixtures.csv", Path: "/data/fixtures.csv/", ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "fixtures"}, Key: "users.csv",
		}},
	}
	return s
}

func TestBuildJobConfigGolden(t *testing.T) {
	s := configSpec()
	if err := s.Validate(); err != nil {
		t.Fatalf("the spec of a golden file must be valid, got: %v", err)
	}
	got, err := yaml.Marshal(BuildJob(s))
	if err != nil {
		t.Fatalf("rendering the Job as YAML: %v", err)
	}
	testkit.Golden(t, filepath.Join("testdata", "job-config.golden.yaml"), got)
}

// The files reach the test container only, read-only, each through a subPath mount of its own volume.
func TestBuildJobConfigFilesInvariants(t *testing.T) {
	job := BuildJob(configSpec())
	pod := job.Spec.Template.Spec
	test, holder := pod.Containers[0], pod.Containers[1]
	wantMounts := []corev1.VolumeMount{
		{Name: ReportsVolume, MountPath: DefaultReportDir},
		{Name: "testrun-config-0", MountPath: "/etc/app/settings.json", SubPath: "content", ReadOnly: true},
		{Name: "testrun-config-1", MountPath: "/var/run/kube/config", SubPath: "content", ReadOnly: true},
		{Name: "testrun-config-2", MountPath: "/data/fixtures.csv", SubPath: "content", ReadOnly: true},
	}
	if diff := cmp.Diff(wantMounts, test.VolumeMounts); diff != "" {
		t.Errorf("test container mounts (-want +got):\n%s", diff)
	}
	for _, m := range holder.VolumeMounts {
		if strings.HasPrefix(m.Name, configVolumePrefix) {
			t.Errorf("the holder must not see configuration, got mount %+v", m)
		}
	}
	wantAnnotations := map[string]string{"testrun.dev/config.settings": `{"retries": 3}`}
	if diff := cmp.Diff(wantAnnotations, job.Spec.Template.Annotations); diff != "" {
		t.Errorf("pod annotations (-want +got): only literal values travel in annotations:\n%s", diff)
	}
	if len(job.Annotations) != 0 {
		t.Errorf("the Job itself needs no annotations, got %v", job.Annotations)
	}
	env := map[string]string{}
	for _, e := range test.Env {
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{EnvGitSHA: "0123456789abcdef0123456789abcdef01234567", EnvGitRef: "refs/heads/main"} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}

	plain := BuildJob(minimalSpec())
	for _, e := range plain.Spec.Template.Spec.Containers[0].Env {
		if e.Name == EnvGitSHA || e.Name == EnvGitRef {
			t.Errorf("without git metadata the test must not get %s, got %q", e.Name, e.Value)
		}
	}
}

func TestSpecValidateConfigFiles(t *testing.T) {
	secret := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}
	configMap := &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Key: "k"}
	tests := []struct {
		name    string
		files   []ConfigFile
		wantErr string
	}{
		{name: "one of each", files: configSpec().Files},
		{name: "no name", files: []ConfigFile{{Path: "/a"}}, wantErr: "rename the config entry"},
		{name: "name with a slash", files: []ConfigFile{{Name: "a/b", Path: "/a"}}, wantErr: `config file "a/b"`},
		{name: "name too long", files: []ConfigFile{{Name: strings.Repeat("a", 57), Path: "/a"}}, wantErr: "at most 56"},
		{name: "relative path", files: []ConfigFile{{Name: "a", Path: "etc/a"}}, wantErr: `path "etc/a" is not the absolute path`},
		{name: "root", files: []ConfigFile{{Name: "a", Path: "/"}}, wantErr: "fix the path"},
		{name: "in the report dir", files: []ConfigFile{{Name: "a", Path: "/reports/creds"}}, wantErr: "copied out with the reports"},
		{name: "the report dir itself", files: []ConfigFile{{Name: "a", Path: "/reports"}}, wantErr: "report directory"},
		{name: "next to the report dir", files: []ConfigFile{{Name: "a", Path: "/reports2/a"}}},
		{name: "same path twice", files: []ConfigFile{{Name: "a", Path: "/x"}, {Name: "b", Path: "/x/"}}, wantErr: `also the path of config file "a"`},
		{name: "two sources", files: []ConfigFile{{Name: "a", Path: "/x", SecretKeyRef: secret, ConfigMapKeyRef: configMap}}, wantErr: "keep one"},
		{name: "values too large for annotations", files: []ConfigFile{{Name: "a", Path: "/x", Value: strings.Repeat("x", 250*1024)}}, wantErr: "put the large ones in a ConfigMap"},
		{name: "large file from a ConfigMap", files: []ConfigFile{{Name: "a", Path: "/x", Value: strings.Repeat("x", 250*1024), ConfigMapKeyRef: configMap}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := minimalSpec()
			s.Files = tt.files
			checkErr(t, s.Validate(), tt.wantErr)
		})
	}
}
