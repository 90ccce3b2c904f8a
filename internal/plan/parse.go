package plan

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/definition"
)

// Tolerations parses --toleration values, written the way `kubectl taint` writes taints: KEY=VALUE:EFFECT
// tolerates exactly that taint, KEY:EFFECT any value of KEY with that effect, KEY=VALUE and KEY every effect.
// Spec.Validate checks the keys, values and effects.
func Tolerations(items []string) ([]corev1.Toleration, error) {
	var out []corev1.Toleration
	for _, item := range items {
		rest, effect, _ := strings.Cut(item, ":")
		key, value, hasValue := strings.Cut(rest, "=")
		if key == "" || (hasValue && value == "") {
			return nil, fmt.Errorf("--toleration %q is not KEY[=VALUE][:EFFECT]: give it like dedicated=ci:NoSchedule, dedicated:NoSchedule or dedicated", item)
		}
		t := corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffect(effect)}
		if hasValue {
			t.Operator, t.Value = corev1.TolerationOpEqual, value
		}
		out = append(out, t)
	}
	return out, nil
}

// ResourceList parses "cpu=500m,memory=256Mi".
func ResourceList(flag, s string) (corev1.ResourceList, error) {
	if s == "" {
		return nil, nil
	}
	list := corev1.ResourceList{}
	for item := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%s %q: %q is not NAME=QUANTITY (e.g. cpu=500m,memory=256Mi)", flag, s, item)
		}
		q, err := resource.ParseQuantity(value)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %q is not a quantity (e.g. 500m, 1, 256Mi): %w", flag, s, value, err)
		}
		list[corev1.ResourceName(name)] = q
	}
	return list, nil
}

// KeyValues parses repeated KEY=VALUE flags, each possibly a comma-separated list.
func KeyValues(flag string, items []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, item := range items {
		for kv := range strings.SplitSeq(item, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("%s %q is not KEY=VALUE", flag, kv)
			}
			m[k] = v
		}
	}
	return m, nil
}

// Env parses --env NAME=VALUE values.
func Env(items []string) ([]corev1.EnvVar, error) {
	var env []corev1.EnvVar
	for _, kv := range items {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--env %q is not NAME=VALUE", kv)
		}
		env = append(env, corev1.EnvVar{Name: name, Value: value})
	}
	return env, nil
}

// EnvFrom parses --env-from secret/NAME and configmap/NAME values.
func EnvFrom(items []string) ([]corev1.EnvFromSource, error) {
	var out []corev1.EnvFromSource
	for _, src := range items {
		kind, name, ok := strings.Cut(src, "/")
		switch {
		case !ok || name == "":
			return nil, fmt.Errorf("--env-from %q is not secret/NAME or configmap/NAME", src)
		case kind == "secret":
			out = append(out, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
		case kind == "configmap" || kind == "cm":
			out = append(out, corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
		default:
			return nil, fmt.Errorf("--env-from %q: kind %q is not secret or configmap", src, kind)
		}
	}
	return out, nil
}

// Config parses --config NAME=VALUE values into configuration entries of type env; a later entry of the same
// name replaces an earlier one.
func Config(items []string) ([]definition.Config, error) {
	var out []definition.Config
	for _, kv := range items {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--config %q is not NAME=VALUE", kv)
		}
		c := definition.Config{Name: name, Type: definition.ConfigEnv, Value: &value}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("--config %q: %w", kv, err)
		}
		out = slices.DeleteFunc(out, func(e definition.Config) bool { return e.Name == name })
		out = append(out, c)
	}
	return out, nil
}

// Uploads parses --upload values, LOCAL[:POD_PATH]: the value splits at its last ':' that a '/' follows, so
// a local name may hold ':' and the pod path is absolute; without one, LOCAL goes to
// runspec.DefaultUploadDir under its own base name (./suite to /testrun/upload/suite). Spec.Validate checks
// the pod paths, upload.Scan the local side.
func Uploads(values []string) ([]runspec.Upload, error) {
	var out []runspec.Upload
	for _, v := range values {
		local, pod := v, ""
		if i := strings.LastIndex(v, ":/"); i >= 0 {
			local, pod = v[:i], v[i+1:]
		}
		if local == "" {
			return nil, fmt.Errorf("--upload %q names no local file or directory: give it as LOCAL[:POD_PATH], e.g. ./suite:/work", v)
		}
		if pod == "" {
			abs, err := filepath.Abs(local)
			if err != nil {
				return nil, fmt.Errorf("--upload %q: %w", v, err)
			}
			base := filepath.Base(abs)
			if base == string(filepath.Separator) || base == "." {
				return nil, fmt.Errorf("--upload %q has no base name to place it under %s: give its path in the pod as LOCAL:POD_PATH", v, runspec.DefaultUploadDir)
			}
			pod = path.Join(runspec.DefaultUploadDir, base)
		}
		out = append(out, runspec.Upload{Local: local, Path: pod})
	}
	return out, nil
}
