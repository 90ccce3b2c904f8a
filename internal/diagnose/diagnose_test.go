package diagnose

import (
	"bytes"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestDiagnosisWriteWithinKeepsItsBudget(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "run-x", Namespace: "ci"}}
	t.Run("in time: everything", func(t *testing.T) {
		var out bytes.Buffer
		Diagnosis{Client: fake.NewClientset(job)}.WriteWithin(t.Context(), &out, time.Minute, "ci", "run-x", nil)
		if !strings.Contains(out.String(), "--- describe job run-x\nName:") || strings.Contains(out.String(), "cut short") {
			t.Errorf("output:\n%s\nwant the whole describe of the job", out.String())
		}
	})
	t.Run("a hanging API server: what there is, and a note", func(t *testing.T) {
		client := fake.NewClientset(job)
		release := make(chan struct{})
		defer close(release)
		client.PrependReactor("get", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
			<-release // kubectl's describers take no context: nothing but the budget stops this
			return false, nil, nil
		})
		var out bytes.Buffer
		// Without the budget this call never returns, and the test times out.
		Diagnosis{Client: client}.WriteWithin(t.Context(), &out, 200*time.Millisecond, "ci", "run-x", nil)
		want := "--- describe job run-x\n--- diagnostics cut short: the API server did not answer within 200ms\n"
		if out.String() != want {
			t.Errorf("output = %q, want %q", out.String(), want)
		}
	})
}
