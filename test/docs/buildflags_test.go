package docs_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestEveryBuildOfThePluginUsesTheClusterCompileFlags checks what docs/development.md states: every build of
// the plugin (make build, the e2e suite's, make bench's) and of the cluster (GO_BUILD_FLAGS in
// hack/cluster/lib.sh) passes the same -gcflags, so a package one of them compiled is in the Go build cache
// for the others. A build that drifts compiles every shared package a second time, which no test would
// otherwise notice.
func TestEveryBuildOfThePluginUsesTheClusterCompileFlags(t *testing.T) {
	m := regexp.MustCompile(`(?m)^GO_BUILD_FLAGS=\(-trimpath "-gcflags=([^"]+)"\)$`).FindStringSubmatch(read(t, "hack/cluster/lib.sh"))
	if m == nil {
		t.Fatal(`hack/cluster/lib.sh has no line GO_BUILD_FLAGS=(-trimpath "-gcflags=..."): update this test with it`)
	}
	flags := m[1]
	for file, want := range map[string]string{
		"Makefile":                   "go build -trimpath -gcflags='" + flags + "' ",
		"test/e2e/framework_test.go": `"-trimpath", "-gcflags=` + flags + `"`,
		"hack/bench/env.go":          `"-trimpath", "-gcflags=` + flags + `"`,
	} {
		if !strings.Contains(read(t, file), want) {
			t.Errorf("%s does not build the plugin with the cluster's compile flags: want %s (GO_BUILD_FLAGS in hack/cluster/lib.sh)", file, want)
		}
	}
}
