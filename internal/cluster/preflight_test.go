package cluster

import (
	"os"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
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
