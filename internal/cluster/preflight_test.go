package cluster

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"
)

// The Role in docs/rbac.yaml grants everything the preflight asks for, and docs/rbac.md shows that same Role.
func TestDocumentedRoleGrantsWhatThePreflightChecks(t *testing.T) {
	raw, err := os.ReadFile("../../docs/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.Role
	if err := yaml.UnmarshalStrict(raw, &role); err != nil {
		t.Fatalf("docs/rbac.yaml: %v", err)
	}
	granted := func(p Permission) bool {
		resource := p.Resource
		if p.Subresource != "" {
			resource += "/" + p.Subresource
		}
		for _, r := range role.Rules {
			if slices.Contains(r.APIGroups, p.Group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, p.Verb) {
				return true
			}
		}
		return false
	}
	for _, p := range RunPermissions {
		if !granted(p) {
			t.Errorf("docs/rbac.yaml does not grant %q, which run's preflight requires", p)
		}
	}
	for _, optional := range []Permission{{Verb: "patch", Resource: "pods", Subresource: "ephemeralcontainers"}} {
		if !granted(optional) {
			t.Errorf("docs/rbac.yaml does not grant %q, which fetching reports uses", optional)
		}
	}
	md, err := os.ReadFile("../../docs/rbac.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, found := strings.Cut(string(raw), "apiVersion:")
	if !found {
		t.Fatal("docs/rbac.yaml has no apiVersion")
	}
	body := "apiVersion:" + rest
	if !strings.Contains(string(md), body) {
		t.Errorf("docs/rbac.md does not show the Role of docs/rbac.yaml as it is:\n%s", body)
	}
}

// fakeAuthorizer answers the preflight's reviews: rules for the SelfSubjectRulesReview (rulesErr fails it),
// and an access review allows exactly what allow lists. It counts the access reviews.
func fakeAuthorizer(rules []authorizationv1.ResourceRule, rulesErr error, allow ...string) (*fake.Clientset, *atomic.Int32) {
	client := fake.NewClientset()
	var reviews atomic.Int32
	client.PrependReactor("create", "selfsubjectrulesreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if rulesErr != nil {
			return true, nil, rulesErr
		}
		review := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectRulesReview).DeepCopy()
		review.Status.ResourceRules = rules
		return true, review, nil
	})
	client.PrependReactor("create", "selfsubjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		reviews.Add(1)
		review := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		a := review.Spec.ResourceAttributes
		p := Permission{Verb: a.Verb, Group: a.Group, Resource: a.Resource, Subresource: a.Subresource}
		review.Status.Allowed = slices.Contains(allow, p.String())
		return true, review, nil
	})
	return client, &reviews
}

func TestPreflightTrustsRulesThatCoverEverything(t *testing.T) {
	rules := []authorizationv1.ResourceRule{
		{Verbs: []string{"*"}, APIGroups: []string{"batch"}, Resources: []string{"jobs"}},
		{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}},
		{Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"*/exec"}},
		{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"events"}},
	}
	client, reviews := fakeAuthorizer(rules, nil)
	if err := Preflight(context.Background(), client.AuthorizationV1(), "ns", RunPermissions); err != nil {
		t.Fatalf("Preflight: %v", err)
	}
	if n := reviews.Load(); n != 0 {
		t.Errorf("%d access reviews, want none when the rules cover every permission", n)
	}
	// Without the last rule, only the permission it gave is asked for, and the authorizer's no is the answer.
	client, reviews = fakeAuthorizer(rules[:3], nil)
	err := Preflight(context.Background(), client.AuthorizationV1(), "ns", RunPermissions)
	if err == nil || !strings.Contains(err.Error(), "missing permissions in namespace \"ns\": list events:") {
		t.Errorf("Preflight = %v, want list events named as the one missing permission", err)
	}
	if n := reviews.Load(); n != 1 {
		t.Errorf("%d access reviews, want 1", n)
	}
}

func TestPreflightAsksTheAuthorizerWhatTheRulesDoNotCover(t *testing.T) {
	rules := []authorizationv1.ResourceRule{
		{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
		// A rule limited to names grants nothing for the run's own objects.
		{Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"pods/exec"}, ResourceNames: []string{"one"}},
	}
	client, reviews := fakeAuthorizer(rules[1:], nil, "get pods/log")
	err := Preflight(context.Background(), client.AuthorizationV1(), "ns", RunPermissions)
	if err == nil {
		t.Fatal("Preflight passed with rules that cover only one pod's exec")
	}
	for _, want := range []string{`namespace "ns"`, "create jobs.batch", "create pods/exec", "list events", "docs/rbac.md"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "get pods/log") {
		t.Errorf("error %q names a permission the authorizer allowed", err)
	}
	if n := reviews.Load(); n != int32(len(RunPermissions)) {
		t.Errorf("%d access reviews, want one for each of the %d permissions the rules do not cover", n, len(RunPermissions))
	}

	// Incomplete rules (a webhook authorizer): what they miss, the authorizer allows.
	client, reviews = fakeAuthorizer(rules[:0], nil, allNames()...)
	if err := Preflight(context.Background(), client.AuthorizationV1(), "ns", RunPermissions); err != nil {
		t.Fatalf("Preflight with every access review allowed: %v", err)
	}
	if n := reviews.Load(); n != int32(len(RunPermissions)) {
		t.Errorf("%d access reviews, want %d", n, len(RunPermissions))
	}

	// The rules review itself refused: the access reviews decide.
	client, _ = fakeAuthorizer(nil, errors.New("selfsubjectrulesreviews is forbidden"), allNames()...)
	if err := Preflight(context.Background(), client.AuthorizationV1(), "ns", RunPermissions); err != nil {
		t.Fatalf("Preflight with the rules review refused: %v", err)
	}
	// A wildcard rule covers any permission: nothing is asked.
	client, reviews = fakeAuthorizer(rules[:1], nil)
	if err := Preflight(context.Background(), client.AuthorizationV1(), "ns", append(slices.Clone(RunPermissions), Permission{Verb: "get", Group: "example.com", Resource: "x"})); err != nil {
		t.Fatalf("Preflight with wildcard rules: %v", err)
	}
	if n := reviews.Load(); n != 0 {
		t.Errorf("%d access reviews, want none under a wildcard rule", n)
	}
}

func allNames() []string {
	var names []string
	for _, p := range RunPermissions {
		names = append(names, p.String())
	}
	return names
}
