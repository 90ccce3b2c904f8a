package cmdkit

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/utils/ptr"
)

// The API server's warnings reach the user as kubectl prints them, "Warning: ...", each once, whichever client
// of the Factory met them: not in klog's format.
func TestFactoryClientsPrintWarningsTheKubectlWay(t *testing.T) {
	const warning = `would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false`
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Warning", `299 - "`+`would violate PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false`+`"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"JobList","apiVersion":"batch/v1","items":[]}`))
	}))
	defer api.Close()
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	flags.APIServer, flags.Namespace, flags.KubeConfig = ptr.To(api.URL), ptr.To("ci"), ptr.To(kubeconfig)
	for _, tt := range []struct{ color, want string }{
		{"auto", "Warning: " + warning + "\n"}, // no terminal here
		{"never", "Warning: " + warning + "\n"},
		{"always", "\x1b[33;1mWarning:\x1b[0m " + warning + "\n"},
	} {
		var errOut bytes.Buffer
		f := NewFactory(flags, &errOut)
		f.SetColor(tt.color)
		clients, err := f.Clients()
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := clients.Client.BatchV1().Jobs("ci").List(t.Context(), metav1.ListOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(tt.want, errOut.String()); diff != "" {
			t.Errorf("--color=%s: stderr (-want +got):\n%s", tt.color, diff)
		}
	}
}

// A warning's text comes from the cluster: its terminal escapes are shown, not obeyed.
func TestWarningHandlerEscapesTheWarning(t *testing.T) {
	var out bytes.Buffer
	NewWarningHandler(&out, false).HandleWarningHeader(299, "-", "policy \x1b]0;pwned\x07says no")
	if diff := cmp.Diff("Warning: policy ^[]0;pwned\x07says no\n", out.String()); diff != "" {
		t.Errorf("warning (-want +got):\n%s", diff)
	}
}
