package cmdkit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// complete runs cobra's hidden __complete command on a root like the plugin's (the kubeconfig flags, one
// verb with -o) and returns the completions offered, without cobra's directive line.
func complete(t *testing.T, f *Factory, args ...string) []string {
	t.Helper()
	root := &cobra.Command{Use: "kubectl-testrun"}
	f.ConfigFlags.AddFlags(root.PersistentFlags())
	verb := &cobra.Command{Use: "list", RunE: func(*cobra.Command, []string) error { return nil }}
	NewPrintFlags("wide", "json", "yaml", "name").WithTemplates().AddFlags(verb, "")
	root.AddCommand(verb)
	f.RegisterGlobalCompletions(root)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(append([]string{"__complete"}, args...))
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("__complete %v: %v", args, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[:len(lines)-1]
}

func TestCompletionOffersNamespacesContextsAndFormats(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "config")
	config := `apiVersion: v1
kind: Config
clusters: [{name: lab, cluster: {server: "https://lab.invalid"}}, {name: prod, cluster: {server: "https://prod.invalid"}}]
users: [{name: me, user: {}}]
contexts: [{name: lab-ci, context: {cluster: lab, user: me}}, {name: prod-ci, context: {cluster: prod, user: me}}, {name: lab-dev, context: {cluster: lab, user: me}}]
current-context: lab-ci
`
	if err := os.WriteFile(kubeconfig, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)
	client := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ci"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ci-nightly"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
	)
	f := NewFakeFactory(client, "ci")
	tests := []struct {
		args []string
		want []string
	}{
		{args: []string{"list", "-n", "ci"}, want: []string{"ci", "ci-nightly"}},
		{args: []string{"list", "--namespace", ""}, want: []string{"ci", "ci-nightly", "default"}},
		{args: []string{"list", "--context", "lab"}, want: []string{"lab-ci", "lab-dev"}},
		{args: []string{"list", "--cluster", ""}, want: []string{"lab", "prod"}},
		{args: []string{"list", "--user", ""}, want: []string{"me"}},
		{args: []string{"list", "-o", "j"}, want: []string{"json", "jsonpath=", "jsonpath-as-json=", "jsonpath-file="}},
		{args: []string{"list", "-o", "custom"}, want: []string{"custom-columns=", "custom-columns-file="}},
	}
	for _, tt := range tests {
		got := complete(t, f, tt.args...)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("completing %v (-want +got):\n%s", tt.args, diff)
		}
	}
}
