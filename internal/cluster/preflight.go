package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	rbacvalidation "k8s.io/component-helpers/auth/rbac/validation"
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

// Preflight checks, before anything is created, that the current user has every one of perms in namespace,
// and names all the missing ones at once. One SelfSubjectRulesReview lists what the user may do in the
// namespace; a permission its rules do not cover (an authorizer that cannot list rules, such as a webhook,
// leaves the list incomplete) is then asked for with a SelfSubjectAccessReview, all of them at once, so a
// missing permission is always confirmed by the authorizer itself.
func Preflight(ctx context.Context, client authorizationclient.AuthorizationV1Interface, namespace string, perms []Permission) error {
	var unsure []Permission
	review, err := client.SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: namespace},
	}, metav1.CreateOptions{})
	if err != nil {
		unsure = perms
	} else {
		rules := policyRules(review.Status.ResourceRules)
		for _, p := range perms {
			if covered, _ := rbacvalidation.Covers(rules, []rbacv1.PolicyRule{p.rule()}); !covered {
				unsure = append(unsure, p)
			}
		}
	}
	allowed := make([]bool, len(unsure))
	errs := make([]error, len(unsure))
	var wg sync.WaitGroup
	for i, p := range unsure {
		wg.Go(func() {
			allowed[i], errs[i] = accessReview(ctx, client, namespace, p)
		})
	}
	wg.Wait()
	var missing []string
	for i, p := range unsure {
		if errs[i] != nil {
			return errs[i]
		}
		if !allowed[i] {
			missing = append(missing, p.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing permissions in namespace %q: %s: ask a cluster admin to bind the Role in docs/rbac.md, or use another namespace with -n",
			namespace, strings.Join(missing, ", "))
	}
	return nil
}

// accessReview asks the authorizer whether the current user has p in namespace.
func accessReview(ctx context.Context, client authorizationclient.SelfSubjectAccessReviewsGetter, namespace string, p Permission) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: namespace, Verb: p.Verb, Group: p.Group, Resource: p.Resource, Subresource: p.Subresource,
		},
	}}
	got, err := client.SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("checking permission %q in namespace %q: %w", p, namespace, err)
	}
	return got.Status.Allowed, nil
}

// rule is p as an RBAC rule.
func (p Permission) rule() rbacv1.PolicyRule {
	resource := p.Resource
	if p.Subresource != "" {
		resource += "/" + p.Subresource
	}
	return rbacv1.PolicyRule{Verbs: []string{p.Verb}, APIGroups: []string{p.Group}, Resources: []string{resource}}
}

// policyRules are the rules of a SelfSubjectRulesReview as RBAC rules.
func policyRules(rules []authorizationv1.ResourceRule) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, rbacv1.PolicyRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames})
	}
	return out
}
