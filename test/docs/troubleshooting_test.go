package docs_test

import (
	"regexp"
	"strings"
	"testing"
)

var (
	// quoted matches a code span of a table row's first cell: the message the row explains.
	quoted = regexp.MustCompile("`([^`]+)`")
	// placeholder splits a quoted message into the literal pieces the plugin writes: it cuts at "…", at
	// quoted names ("I", "NS"), at parenthesised reasons and at words standing for values (N, D, 127).
	placeholder = regexp.MustCompile(`…|"[^"]*"|\([^)]*\)|: |\b[A-Z]{1,2}\b|\d+h0m0s|-?\d+`)
	// notOurs are pieces of quoted messages that come from elsewhere than the plugin's Go strings, each with
	// where: the plugin prints them inside its own message.
	notOurs = map[string]string{
		"MountVolume.SetUp failed":          "the kubelet's event message, quoted after the pod's name",
		"still so after --schedule-timeout": `"still so after %s" with the flag and its value`,
		"the helper image has no tar":       `the fetch container's script: "the helper image has no $tool"`,
		"not a directory":                   "the operating system's error for a path under a file",
		"permission denied":                 "the container runtime's error for a command that cannot be executed",
	}
)

// TestTroubleshootingQuotesOnlyMessagesThePluginPrints checks that every message docs/troubleshooting.md
// explains is one the plugin prints: each literal piece of it (a dozen characters or more, between the
// placeholders) is in a Go string of internal/ or pkg/, or is listed above with where it comes from.
func TestTroubleshootingQuotesOnlyMessagesThePluginPrints(t *testing.T) {
	var src strings.Builder
	for _, file := range repoFiles(t, func(name string) bool {
		return (strings.HasPrefix(name, "internal/") || strings.HasPrefix(name, "pkg/")) && strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
	}) {
		src.WriteString(read(t, file))
	}
	code := src.String()
	checked := 0
	for i, line := range strings.Split(read(t, "docs/troubleshooting.md"), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.Split(line, "|")[1]
		for _, m := range quoted.FindAllStringSubmatch(cell, -1) {
			for _, piece := range placeholder.Split(m[1], -1) {
				piece = strings.Trim(piece, " :;,/()")
				if len(piece) < 12 {
					continue
				}
				checked++
				if _, ok := notOurs[piece]; !ok && !strings.Contains(code, piece) {
					t.Errorf("docs/troubleshooting.md:%d quotes %q, which no Go string of internal/ or pkg/ holds: quote the message the plugin prints", i+1, piece)
				}
			}
		}
	}
	if checked < 40 {
		t.Errorf("checked only %d pieces of quoted messages: the extraction is broken", checked)
	}
}
