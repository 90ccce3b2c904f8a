package docs_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/cmd"
)

// An example is one `kubectl testrun …` command line of a code block of the documentation.
type example struct {
	where string // file:line
	words []string
}

// TestEveryDocumentedCommandParses checks every `kubectl testrun VERB …` command line in the code blocks of
// the README and docs/ against the command tree: the verb exists and every flag exists on it and takes the
// value given, exactly as the binary would parse the line. Docs that drift from the commands fail here,
// without a cluster.
func TestEveryDocumentedCommandParses(t *testing.T) {
	files := repoFiles(t, func(name string) bool {
		return name == "README.md" || (strings.HasPrefix(name, "docs/") && strings.HasSuffix(name, ".md"))
	})
	var examples []example
	for _, file := range files {
		examples = append(examples, commandExamples(file, read(t, file))...)
	}
	if len(examples) < 50 {
		t.Fatalf("found only %d command examples in %d files: the extraction is broken", len(examples), len(files))
	}
	t.Logf("%d command examples in %d pages", len(examples), len(files))
	for _, ex := range examples {
		if err := parses(ex.words); err != nil {
			t.Errorf("%s: kubectl testrun %s: %v", ex.where, strings.Join(ex.words, " "), err)
		}
	}
}

// parses parses words (what follows `kubectl testrun`) the way the binary does, up to running the verb.
func parses(words []string) error {
	root := cmd.NewCmdTestrun(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	c, rest, err := root.Find(words)
	if err != nil {
		return err
	}
	if c == root {
		for _, w := range rest {
			if !strings.HasPrefix(w, "-") {
				return fmt.Errorf("%q is not a verb of kubectl testrun", w)
			}
		}
	}
	return c.ParseFlags(rest)
}

// commandExamples returns the `kubectl testrun` lines of the fenced and indented code blocks of a Markdown
// page, continuation lines joined.
func commandExamples(file, text string) []example {
	var out []example
	lines := strings.Split(text, "\n")
	fenced := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced && !strings.HasPrefix(line, "    ") {
			continue
		}
		start := i + 1
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		at := strings.Index(line, "kubectl testrun ")
		if at < 0 || (at > 0 && !strings.ContainsRune(" $(`", rune(line[at-1]))) {
			continue
		}
		words := shellWords(line[at+len("kubectl testrun "):])
		if len(words) > 0 {
			out = append(out, example{where: fmt.Sprintf("%s:%d", file, start), words: words})
		}
	}
	return out
}

// shellWords splits a command line into words as sh would, quotes removed, stopping at a comment, a pipe,
// a redirection, a list operator or a closing command substitution.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	quote := rune(0)
	flush := func() {
		if inWord {
			words = append(words, w.String())
		}
		w.Reset()
		inWord = false
	}
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flush()
		case strings.ContainsRune("#|>;&)`", r) && !inWord:
			return words
		case strings.ContainsRune("|>;&)`", r):
			flush()
			return words
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return words
}

// The check itself: it finds commands in both kinds of code block, joins continuation lines, stops at shell
// syntax, and refuses an unknown verb, an unknown flag and a value that does not parse.
func TestDocumentedCommandCheckCatchesDrift(t *testing.T) {
	page := "text `kubectl testrun run --nope` in prose is not checked\n\n" +
		"```sh\n$ kubectl testrun run smoke --image app:1 \\\n  --timeout 20m -- sh -c 'echo $$ | cat' # a comment\n" +
		"kubectl testrun plugins shell -o yaml > .testrun/x.yaml\n" +
		"kubectl testrun runn smoke\n" +
		"kubectl testrun logs smoke --tial 5\n" +
		"kubectl testrun run smoke --timeout soon\n```\n\n" +
		"    kubectl testrun wait smoke --forr 1m   # indented\n"
	examples := commandExamples("page.md", page)
	var got []string
	for _, ex := range examples {
		err := parses(ex.words)
		got = append(got, fmt.Sprintf("%s %q %v", ex.where, ex.words, err != nil))
	}
	want := []string{
		`page.md:4 ["run" "smoke" "--image" "app:1" "--timeout" "20m" "--" "sh" "-c" "echo $$ | cat"] false`,
		`page.md:6 ["plugins" "shell" "-o" "yaml"] false`,
		`page.md:7 ["runn" "smoke"] true`,
		`page.md:8 ["logs" "smoke" "--tial" "5"] true`,
		`page.md:9 ["run" "smoke" "--timeout" "soon"] true`,
		`page.md:12 ["wait" "smoke" "--forr" "1m"] true`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("examples and whether they fail:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
