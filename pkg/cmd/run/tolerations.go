package run

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// tolerations parses --toleration values, written the way `kubectl taint` writes taints: KEY=VALUE:EFFECT
// tolerates exactly that taint, KEY:EFFECT any value of KEY with that effect, KEY=VALUE and KEY every effect.
// Spec.Validate checks the keys, values and effects.
func tolerations(items []string) ([]corev1.Toleration, error) {
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
