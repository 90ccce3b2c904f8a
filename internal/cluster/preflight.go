package cluster

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// Permission is one namespaced permission a command needs.
type Permission struct {
	Verb, Group, Resource, Subresource string
}

func (p Permission) String() string {
	r := p.Resource
	if p.Group != "" {
		r += "." + p.Group
	}
	if p.Subresource != "" {
		r += "/" + p.Subresource
	}
	return p.Verb + " " + r
}

// RunPermissions are what `kubectl testrun run` needs in the run's namespace (docs/rbac.md lists them as a Role).
var RunPermissions = []Permission{
	{Verb: "create", Group: "batch", Resource: "jobs"},
	{Verb: "get", Group: "batch", Resource: "jobs"},
	{Verb: "list", Group: "batch", Resource: "jobs"},
	{Verb: "watch", Group: "batch", Resource: "jobs"},
	{Verb: "delete", Group: "batch", Resource: "jobs"},
	{Verb: "get", Resource: "pods"},
	{Verb: "list", Resource: "pods"},
	{Verb: "watch", Resource: "pods"},
	{Verb: "get", Resource: "pods", Subresource: "log"},
	{Verb: "create", Resource: "pods", Subresource: "exec"},
	{Verb: "list", Resource: "events"},
}

// Preflight asks the API server, through SelfSubjectAccessReviews, whether the current user has every one of
// perms in namespace, and names all the missing ones at once, before anything is created.
func Preflight(ctx context.Context, client authorizationclient.SelfSubjectAccessReviewsGetter, namespace string, perms []Permission) error {
	var missing []string
	for _, p := range perms {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace, Verb: p.Verb, Group: p.Group, Resource: p.Resource, Subresource: p.Subresource,
			},
		}}
		got, err := client.SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("checking permission %q in namespace %q: %w", p, namespace, err)
		}
		if !got.Status.Allowed {
			missing = append(missing, p.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing permissions in namespace %q: %s: ask a cluster admin to bind the Role in docs/rbac.md, or use another namespace with -n",
			namespace, strings.Join(missing, ", "))
	}
	return nil
}
