// Package sut is the in-cluster sample suite of the go-test plugin: it calls the system under test (the
// Service sut of hack/demo/sut.yaml, image testrun.local/sut:v1) by its DNS names from inside the test pod.
// It is compiled into /tests/sut.test of testrun.local/suite-go-test:v1 beside the plugin's general sample,
// and run with --env GO_TEST_BINARY=/tests/sut.test --env GO_TEST_PACKAGE=sut.
//
// Environment:
//
//	SUT_URL             the service's base URL (default http://sut: the short name, through the pod's search path)
//	SUT_CLUSTER_DOMAIN  the cluster's DNS domain (default cluster.local), for the fully qualified name
//	SUT_WANT_SUM        the answer TestSum expects for 2 + 3 (default 5): a wrong one makes the suite fail
//	TESTRUN_NAMESPACE   the run's namespace, set by kubectl testrun; the service lives there too
package sut

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// get returns the trimmed body of a GET of url. Connection errors are retried for up to 30 s: a Service's
// new endpoint takes a moment to reach kube-proxy. Any HTTP answer is final.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatalf("GET %s: reading the answer: %v", url, err)
			}
			t.Logf("GET %s -> %d %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
			return resp.StatusCode, strings.TrimSpace(string(body))
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s: %v", url, err)
		case <-time.After(time.Second):
		}
	}
}

func namespace(t *testing.T) string {
	ns := os.Getenv("TESTRUN_NAMESPACE")
	if ns == "" {
		t.Fatal("TESTRUN_NAMESPACE is not set: run this suite with kubectl testrun")
	}
	return ns
}

// TestGreetingByShortName reaches the service by the name its users configure: sut, found through the
// pod's DNS search path in its own namespace.
func TestGreetingByShortName(t *testing.T) {
	want := "hello from sut v1 in " + namespace(t)
	if code, got := get(t, env("SUT_URL", "http://sut")+"/greeting"); code != http.StatusOK || got != want {
		t.Errorf("greeting = %d %q, want 200 %q", code, got, want)
	}
}

// TestGreetingByFullyQualifiedName reaches it as sut.<namespace>.svc.<cluster domain>.
func TestGreetingByFullyQualifiedName(t *testing.T) {
	ns := namespace(t)
	url := fmt.Sprintf("http://sut.%s.svc.%s/greeting", ns, env("SUT_CLUSTER_DOMAIN", "cluster.local"))
	want := "hello from sut v1 in " + ns
	if code, got := get(t, url); code != http.StatusOK || got != want {
		t.Errorf("greeting = %d %q, want 200 %q", code, got, want)
	}
}

// TestSum asks the service to add 2 and 3.
func TestSum(t *testing.T) {
	want := env("SUT_WANT_SUM", "5")
	if code, got := get(t, env("SUT_URL", "http://sut")+"/sum?a=2&b=3"); code != http.StatusOK || got != want {
		t.Errorf("2 + 3 = %d %q, want 200 %q", code, got, want)
	}
}

// TestBadInputIsRefused checks that the service answers 400 to a sum of words.
func TestBadInputIsRefused(t *testing.T) {
	if code, got := get(t, env("SUT_URL", "http://sut")+"/sum?a=two&b=3"); code != http.StatusBadRequest {
		t.Errorf("two + 3 = %d %q, want 400", code, got)
	}
}
