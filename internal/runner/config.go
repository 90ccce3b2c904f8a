package runner

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// CheckConfigSources makes sure, before runs are created,, where the user may read them, that the Secrets and ConfigMaps of
// configuration files exist (and, for a ConfigMap, hold the key). A missing one would leave the pod waiting
// for its volume, reported only in FailedMount events, until --timeout; as an environment variable it fails
// fast by itself (CreateContainerConfigError). The documented Role has no get on secrets or configmaps: the
// check is skipped where it is forbidden. A Secret is read as metadata only, so its data never reaches the
// client, and its keys cannot be checked.
func CheckConfigSources(ctx context.Context, client kubernetes.Interface, config *rest.Config, specs []runspec.Spec) error {
	var meta metadata.Interface
	checked := map[string]bool{}
	for _, spec := range specs {
		ns := spec.Namespace
		for _, f := range spec.Files {
			switch {
			case f.ConfigMapKeyRef != nil:
				ref := f.ConfigMapKeyRef
				if checked["configmap/"+ref.Name+"/"+ref.Key] {
					continue
				}
				checked["configmap/"+ref.Name+"/"+ref.Key] = true
				cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, ref.Name, metav1.GetOptions{})
				switch {
				case apierrors.IsNotFound(err):
					return fmt.Errorf("config entry %q: configmap %q not found in namespace %q: create it, or fix valueFrom.configMapKeyRef.name", f.Name, ref.Name, ns)
				case err != nil:
					continue // forbidden or unreachable: the kubelet will say
				}
				if _, ok := cm.Data[ref.Key]; !ok {
					if _, ok := cm.BinaryData[ref.Key]; !ok {
						return fmt.Errorf("config entry %q: configmap %q in namespace %q has no key %q: add it, or fix valueFrom.configMapKeyRef.key", f.Name, ref.Name, ns, ref.Key)
					}
				}
			case f.SecretKeyRef != nil:
				ref := f.SecretKeyRef
				if checked["secret/"+ref.Name] {
					continue
				}
				checked["secret/"+ref.Name] = true
				if meta == nil {
					var err error
					if meta, err = metadata.NewForConfig(config); err != nil {
						return err
					}
				}
				_, err := meta.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					return fmt.Errorf("config entry %q: secret %q not found in namespace %q: create it, or fix valueFrom.secretKeyRef.name", f.Name, ref.Name, ns)
				}
			}
		}
	}
	return nil
}
