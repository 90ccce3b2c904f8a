package definition

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// MergeConfig returns the configuration a run gets, following the precedence of TestMachinery: an entry of
// the definition overrides an entry of the same name given on the run (--config), which overrides the global
// configuration (.testrun/config.yaml). An overriding entry replaces the other one whole (its type and
// source too) and takes its place; new entries follow in the order given.
func MergeConfig(global, run, def []Config) []Config {
	var merged []Config
	for _, layer := range [][]Config{global, run, def} {
		for _, c := range layer {
			if i := slices.IndexFunc(merged, func(m Config) bool { return m.Name == c.Name }); i >= 0 {
				merged[i] = c
				continue
			}
			merged = append(merged, c)
		}
	}
	return merged
}

// EnvName returns the environment variable the entry sets: its name for type env, PathEnvName(name) for
// type file (the variable then holds the file's path).
func (c Config) EnvName() string {
	switch c.Type {
	case ConfigEnv:
		return c.Name
	case ConfigFile:
		return PathEnvName(c.Name)
	}
	return ""
}

// PathEnvName returns the name of the variable that holds the path of a file entry: the entry's name in
// upper case with every character other than A-Z and 0-9 turned into '_' ("kubeconfig" → KUBECONFIG,
// "seed.kubeconfig" → SEED_KUBECONFIG, "api-token" → API_TOKEN).
func PathEnvName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return '_'
	}, name)
}

// Render turns validated configuration entries into the environment variables and files of the test
// container: an env entry becomes a variable with its value or a secretKeyRef/configMapKeyRef; a file entry
// becomes a runspec.ConfigFile (which BuildJob mounts at its path) plus a variable holding the path.
func Render(entries []Config) ([]corev1.EnvVar, []runspec.ConfigFile) {
	var env []corev1.EnvVar
	var files []runspec.ConfigFile
	for _, c := range entries {
		switch c.Type {
		case ConfigEnv:
			e := corev1.EnvVar{Name: c.Name}
			switch {
			case c.Value != nil:
				e.Value = *c.Value
			case c.ValueFrom != nil && c.ValueFrom.SecretKeyRef != nil:
				e.ValueFrom = &corev1.EnvVarSource{SecretKeyRef: secretKey(c.ValueFrom.SecretKeyRef)}
			case c.ValueFrom != nil && c.ValueFrom.ConfigMapKeyRef != nil:
				e.ValueFrom = &corev1.EnvVarSource{ConfigMapKeyRef: configMapKey(c.ValueFrom.ConfigMapKeyRef)}
			}
			env = append(env, e)
		case ConfigFile:
			f := runspec.ConfigFile{Name: c.Name, Path: c.Path}
			switch {
			case c.Value != nil:
				f.Value = *c.Value
			case c.ValueFrom != nil && c.ValueFrom.SecretKeyRef != nil:
				f.SecretKeyRef = secretKey(c.ValueFrom.SecretKeyRef)
			case c.ValueFrom != nil && c.ValueFrom.ConfigMapKeyRef != nil:
				f.ConfigMapKeyRef = configMapKey(c.ValueFrom.ConfigMapKeyRef)
			}
			files = append(files, f)
			env = append(env, corev1.EnvVar{Name: c.EnvName(), Value: c.Path})
		}
	}
	return env, files
}

func secretKey(r *KeyRef) *corev1.SecretKeySelector {
	return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: r.Name}, Key: r.Key}
}

func configMapKey(r *KeyRef) *corev1.ConfigMapKeySelector {
	return &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: r.Name}, Key: r.Key}
}
