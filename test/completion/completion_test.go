// Package completion_test proves that shell completion works the way a user types the command: the built
// binary's bash script completes `kubectl-testrun <TAB>`, and kubectl's own bash completion completes
// `kubectl testrun <TAB>` through the kubectl_complete-testrun script. It needs no cluster.
package completion_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// subcommands are the commands every completion of the first word must offer.
var subcommands = []string{"completion", "delete", "describe", "fetch", "list", "logs", "run", "version", "wait"}

// binDir holds the built kubectl-testrun and kubectl_complete-testrun, as a release archive lays them out.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "testrun-completion-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if err := install(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		binDir = dir
		return m.Run()
	}())
}

// install builds the plugin into dir and copies the completion script next to it.
func install(dir string) error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-testrun"), "./cmd/kubectl-testrun")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building kubectl-testrun: %w\n%s", err, out)
	}
	script, err := os.ReadFile(filepath.Join(root, "kubectl_complete-testrun"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "kubectl_complete-testrun"), script, 0o755)
}

func TestCompleteCommand(t *testing.T) {
	// __complete is what every shell script and kubectl call; its output is one candidate per line
	// (candidate<TAB>description) and a final :<directive> line.
	out, err := exec.Command(filepath.Join(binDir, "kubectl-testrun"), "__complete", "").Output()
	if err != nil {
		t.Fatalf("kubectl-testrun __complete \"\": %v", err)
	}
	got := candidates(string(out))
	for _, want := range subcommands {
		if !slices.Contains(got, want) {
			t.Errorf("kubectl-testrun __complete \"\" offers %q, want it to include %q; output:\n%s", got, want, out)
		}
	}
}

func TestBashCompletesThePluginBinary(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{line: "kubectl-testrun ", want: subcommands},
		{line: "kubectl-testrun ver", want: []string{"version"}},
		{line: "kubectl-testrun version -o ", want: []string{"json", "yaml"}},
		{line: "kubectl-testrun completion ", want: []string{"bash", "fish", "powershell", "zsh"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got := complete(t, `source <(kubectl-testrun completion bash)`, "__start_kubectl-testrun", tt.line)
			assertOffers(t, tt.line, got, tt.want)
		})
	}
}

func TestBashCompletesThroughKubectl(t *testing.T) {
	kubectl := findKubectl(t)
	tests := []struct {
		line string
		want []string
	}{
		{line: "kubectl testrun ", want: subcommands},
		{line: "kubectl testrun r", want: []string{"run"}},
		{line: "kubectl testrun version --output ", want: []string{"json", "yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got := complete(t, fmt.Sprintf(`source <(%q completion bash)`, kubectl), "__start_kubectl", tt.line)
			assertOffers(t, tt.line, got, tt.want)
		})
	}
}

// complete loads a completion script into a non-interactive bash, fills the COMP_* variables the way bash
// does when the user presses TAB at the end of line, calls the completion function and returns COMPREPLY.
func complete(t *testing.T, load, function, line string) []string {
	t.Helper()
	words := strings.Fields(line)
	if strings.HasSuffix(line, " ") {
		words = append(words, "")
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = strconv.Quote(w)
	}
	// compopt only works while bash itself runs a completion function: a no-op stands in for it here.
	script := fmt.Sprintf(`%s
compopt() { :; }
%s
COMP_LINE=%q
COMP_POINT=${#COMP_LINE}
COMP_WORDS=(%s)
COMP_CWORD=%d
COMP_TYPE=9
%s
printf '%%s\n' "${COMPREPLY[@]}"
`, bashCompletionLibrary(t), load, line, strings.Join(quoted, " "), len(words)-1, function)
	cmd := exec.Command("bash", "--noprofile", "--norc", "-c", script)
	cmd.Env = append(os.Environ(),
		"PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+t.TempDir(), // kubectl must not pick up a user's kubeconfig or cache
		"KUBECONFIG=",
		"COLUMNS=200", // wide enough that descriptions never wrap the candidates
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("bash completion of %q: error %v, stderr:\n%s", line, err, stderr.String())
	}
	return candidates(string(out))
}

// bashCompletionLibrary returns the bash code that defines _get_comp_words_by_ref, which cobra's bash scripts
// call: the bash-completion package when it is installed, else a stand-in that takes the words as given.
func bashCompletionLibrary(t *testing.T) string {
	const system = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(system); err == nil {
		return ". " + system
	}
	t.Logf("%s is missing (Debian package bash-completion): using a minimal _get_comp_words_by_ref", system)
	return `_get_comp_words_by_ref() {
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  words=("${COMP_WORDS[@]}")
  cword=$COMP_CWORD
}`
}

// candidates returns the first field of each output line: the word to complete, without its description
// (bash prints "run  (Run a test ...)", __complete prints "run<TAB>Run a test ..."), nor a directive line.
func candidates(out string) []string {
	var got []string
	for line := range strings.Lines(out) {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], ":") || strings.HasPrefix(fields[0], "[Debug]") {
			continue
		}
		got = append(got, fields[0])
	}
	slices.Sort(got)
	return got
}

func assertOffers(t *testing.T, line string, got, want []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("completing %q offers %q, want it to include %q", line, got, w)
		}
	}
	if len(want) == 1 && len(got) != 1 {
		t.Errorf("completing %q offers %q, want exactly %q", line, got, want)
	}
}

// findKubectl returns a kubectl that completes plugins (1.26 or newer): $KUBECTL, the one on PATH, or the one
// the local cluster scripts build (hack/cluster/build.sh). It skips the test when there is none.
func findKubectl(t *testing.T) string {
	t.Helper()
	var found []string
	if k := os.Getenv("KUBECTL"); k != "" {
		found = append(found, k)
	}
	if k, err := exec.LookPath("kubectl"); err == nil {
		found = append(found, k)
	}
	cache := os.Getenv("TESTRUN_CACHE_DIR")
	if cache == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(dir, "kubectl-testrun")
		}
	}
	if matches, err := filepath.Glob(filepath.Join(cache, "kubernetes", "*", "bin", "kubectl")); err == nil {
		found = append(found, matches...)
	}
	for _, k := range found {
		if minor, err := kubectlMinor(k); err == nil && minor >= 26 {
			t.Logf("using %s (1.%d)", k, minor)
			return k
		} else if err != nil {
			t.Logf("%s: %v", k, err)
		} else {
			t.Logf("%s is 1.%d: plugin completion needs 1.26 or newer", k, minor)
		}
	}
	t.Skip("no kubectl 1.26 or newer: set KUBECTL, put one on PATH, or run hack/cluster/build.sh")
	return ""
}

// kubectlMinor returns kubectl's client minor version ("32+" counts as 32).
func kubectlMinor(kubectl string) (int, error) {
	out, err := exec.Command(kubectl, "version", "--client", "-o", "json").Output()
	if err != nil {
		return 0, fmt.Errorf("kubectl version --client: %w", err)
	}
	var v struct {
		ClientVersion struct {
			Major string `json:"major"`
			Minor string `json:"minor"`
		} `json:"clientVersion"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return 0, fmt.Errorf("kubectl version --client -o json: %w", err)
	}
	if v.ClientVersion.Major != "1" {
		return 0, fmt.Errorf("kubectl major version %q is not 1", v.ClientVersion.Major)
	}
	return strconv.Atoi(strings.TrimRight(v.ClientVersion.Minor, "+"))
}
