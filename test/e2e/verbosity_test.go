//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// A user who wants to see what the plugin asks the API server gives -v=6, as with kubectl: every request is
// logged on stderr with its verb, URL and status; without it, none is.
func TestVerbosityLogsEveryAPIRequest(t *testing.T) {
	ns := namespace(t)
	request := `"Response" verb="GET" url="https://`
	jobs := "/apis/batch/v1/namespaces/" + ns + "/jobs"

	for _, args := range [][]string{
		{"list", "-n", ns, "-v=6"},
		{"list", "-n", ns, "--v", "6"},
	} {
		r := testrun(t, args...)
		if r.code != 0 || !strings.Contains(r.stderr, request) || !strings.Contains(r.stderr, jobs) {
			t.Errorf("kubectl testrun %s: want exit code 0 and the request GET %s logged on stderr; got %s", strings.Join(args, " "), jobs, r)
		}
	}
	r := run(t, command(t.Context(), kubectlBin, "testrun", "list", "-n", ns, "-v=6"))
	if r.code != 0 || !strings.Contains(r.stderr, jobs) {
		t.Errorf("kubectl testrun list -v=6 through kubectl: want the request GET %s logged on stderr; got %s", jobs, r)
	}
	if r := testrun(t, "list", "-n", ns); r.code != 0 || strings.Contains(r.stderr, request) {
		t.Errorf("kubectl testrun list without -v: want exit code 0 and no request logged; got %s", r)
	}
}
