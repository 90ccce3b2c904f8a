// Package docs_test proves that what the repository says about itself points at things it holds: every
// reference a Go file makes to a page under docs/ (docs/reports.md, docs/design.md, "The holder",
// docs/run.md#output) names a page, section or anchor that exists; no file points at a design or style
// document kept outside the repository; the README's and docs/' relative links resolve; and the documentation
// names no Go package that no longer exists (such as one removed when the engine was split). It needs no
// cluster and runs with go test -short.
package docs_test

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// repoRoot is the repository's top directory, relative to this package's directory, where go test runs.
const repoRoot = "../.."

var (
	// docRef matches a path under docs/ (possibly reached through ../), followed by an optional section in
	// quotes (`docs/design.md, "The holder"`) or anchor (`docs/run.md#output`).
	docRef = regexp.MustCompile(`(?:^|[^A-Za-z0-9_./-]|(?:\.\./)+)docs/([A-Za-z0-9_./-]*[A-Za-z0-9_-]\.(?:md|ya?ml))(?:,\s*"([^"\n]+)"|#([a-z0-9_-]+))?`)
	// outsideRef matches a pointer to the project's design or style notes that live outside the repository.
	outsideRef = regexp.MustCompile(`\b(?:DESIGN|STYLE)\b(?:\.md)?(?:\s*§\s*\d+)?|§\s*\d+`)
	// mdLink matches a relative Markdown link to a page or an anchor: [text](reports.md#fetch), [text](#output).
	mdLink = regexp.MustCompile(`\]\(([A-Za-z0-9_./-]*\.(?:md|ya?ml))?(?:#([A-Za-z0-9_-]+))?\)`)
	// packagePath matches a path into the module's own Go packages, as documentation names them:
	// internal/runspec, pkg/cmd/run/run.go. It is not part of a longer path (k8s.io/kubectl/pkg/cmd/logs).
	packagePath = regexp.MustCompile(`(?:^|[^A-Za-z0-9_./-])((?:internal|pkg)/[a-z0-9_/.-]*[a-z0-9_])`)
)

// A problem is one reference that does not resolve, in the form "file:line: what".
type problem = string

// markdown holds the headings and their anchors of the Markdown pages read so far.
type markdown struct {
	root  string
	pages map[string]*page
}

type page struct {
	headings map[string]bool
	anchors  map[string]bool
}

// TestEveryGoReferenceToDocsResolves walks every Go file of the repository, e2e tests and hack/ included, and
// checks each reference to docs/: the file exists, and a quoted section or an anchor names a heading of it.
func TestEveryGoReferenceToDocsResolves(t *testing.T) {
	md := &markdown{root: repoRoot, pages: map[string]*page{}}
	var problems []problem
	refs := 0
	for _, file := range repoFiles(t, func(name string) bool { return strings.HasSuffix(name, ".go") }) {
		got, n := md.checkDocRefs(file, read(t, file))
		problems = append(problems, got...)
		refs += n
	}
	if refs == 0 {
		t.Fatalf("found no reference to docs/ in any Go file under %s: the scan is broken", repoRoot)
	}
	for _, p := range problems {
		t.Errorf("%s", p)
	}
	t.Logf("checked %d references to docs/ in Go files", refs)
}

// TestNothingPointsOutsideTheRepository fails on a reference to design or style notes the repository does not
// hold ("DESIGN §2", "STYLE"), in Go files and in the repository's own configuration and documentation.
func TestNothingPointsOutsideTheRepository(t *testing.T) {
	text := func(name string) bool {
		base := filepath.Base(name)
		return base == "Makefile" || slices.Contains([]string{".go", ".md", ".yml", ".yaml", ".sh"}, filepath.Ext(name))
	}
	for _, file := range repoFiles(t, text) {
		for _, p := range outsideRefs(file, read(t, file)) {
			t.Errorf("%s", p)
		}
	}
}

// TestDocumentationNamesExistingPackages fails when the README or a page under docs/ names a package path of
// this module (internal/…, pkg/…) that does not exist, such as a package that was moved. Go comments are left
// out: they also name other projects' packages (krew's internal/index/validation).
func TestDocumentationNamesExistingPackages(t *testing.T) {
	files := repoFiles(t, func(name string) bool {
		rel := filepath.ToSlash(name)
		return rel == "README.md" || (strings.HasPrefix(rel, "docs/") && strings.HasSuffix(rel, ".md"))
	})
	for _, file := range files {
		for _, p := range missingPackages(repoRoot, file, read(t, file)) {
			t.Errorf("%s", p)
		}
	}
}

// TestMarkdownLinksResolve fails when a relative link of the README or of a page under docs/ names a page that
// does not exist, or an anchor that is no heading of its page.
func TestMarkdownLinksResolve(t *testing.T) {
	md := &markdown{root: repoRoot, pages: map[string]*page{}}
	files := repoFiles(t, func(name string) bool {
		rel := filepath.ToSlash(name)
		return rel == "README.md" || (strings.HasPrefix(rel, "docs/") && strings.HasSuffix(rel, ".md"))
	})
	for _, file := range files {
		for _, p := range md.checkLinks(filepath.ToSlash(file), read(t, file)) {
			t.Errorf("%s", p)
		}
	}
}

// TestTheChecksFindBrokenReferences shows that the checks above fail where they should, on text written to
// break them, and pass on the forms the repository uses.
func TestTheChecksFindBrokenReferences(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "docs", "design.md"), "# Design\n\n## The holder\n\n```sh\n## Not a heading\n```\n\n### The result document (`-o json`)\n")
	write(t, filepath.Join(root, "docs", "rbac.yaml"), "kind: Role\n")
	write(t, filepath.Join(root, "internal", "runspec", "testdata", "job.golden.yaml"), "kind: Job\n")
	write(t, filepath.Join(root, "internal", "runspec", "job.go"), "package runspec\n")

	tests := []struct {
		name string
		text string
		want []problem
	}{
		{name: "a page and a section that exist", text: `// see docs/design.md, "The holder" and docs/rbac.yaml`},
		{name: "a section with inline code", text: `// (docs/design.md, "The result document (-o json)")`},
		{name: "an anchor that exists", text: `// docs/design.md#the-holder`},
		{name: "reached through ../", text: `os.ReadFile("../../docs/rbac.yaml")`},
		{name: "a page that does not exist", text: "// the document (docs/result.md).",
			want: []problem{`x.go:1: docs/result.md does not exist`}},
		{name: "a section that does not exist", text: "\n// (docs/design.md, \"Getting reports out\")",
			want: []problem{`x.go:2: docs/design.md has no section "Getting reports out" (its sections: "Design", "The holder", "The result document (-o json)")`}},
		{name: "a heading inside a code block is no section", text: `// docs/design.md, "Not a heading"`,
			want: []problem{`x.go:1: docs/design.md has no section "Not a heading" (its sections: "Design", "The holder", "The result document (-o json)")`}},
		{name: "an anchor that does not exist", text: `// docs/design.md#holder`,
			want: []problem{`x.go:1: docs/design.md has no anchor #holder`}},
		{name: "a longer path is not a page under docs/", text: `// hack/demo/docs/x.md is elsewhere`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := &markdown{root: root, pages: map[string]*page{}}
			got, _ := md.checkDocRefs("x.go", tt.text)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("checkDocRefs(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}

	outside := []struct {
		text string
		want []problem
	}{
		{text: "// a security boundary (DESIGN §2)", want: []problem{"x.go:1: points outside the repository (\"DESIGN §2\"): point to a section of docs/design.md"}},
		{text: "// see DESIGN.md", want: []problem{"x.go:1: points outside the repository (\"DESIGN.md\"): point to a section of docs/design.md"}},
		{text: "# (STYLE: errors)", want: []problem{"x.go:1: points outside the repository (\"STYLE\"): point to a section of docs/design.md"}},
		{text: "// the style of docs/design.md, \"Conventions\""},
	}
	for _, tt := range outside {
		if diff := cmp.Diff(tt.want, outsideRefs("x.go", tt.text)); diff != "" {
			t.Errorf("outsideRefs(%q) (-want +got):\n%s", tt.text, diff)
		}
	}

	links := []struct {
		text string
		want []problem
	}{
		{text: "see [the holder](design.md#the-holder), [Role](rbac.yaml), [x](#design) and [web](https://example.com/a.md)"},
		{text: "[gone](result.md)", want: []problem{"docs/design.md:1: links to docs/result.md, which does not exist"}},
		{text: "[gone](#holder)", want: []problem{"docs/design.md:1: links to docs/design.md#holder, which is no heading of it"}},
	}
	for _, tt := range links {
		md := &markdown{root: root, pages: map[string]*page{}}
		if diff := cmp.Diff(tt.want, md.checkLinks("docs/design.md", tt.text)); diff != "" {
			t.Errorf("checkLinks(%q) (-want +got):\n%s", tt.text, diff)
		}
	}

	packages := []struct {
		text string
		want []problem
	}{
		{text: "golden files in `internal/runspec/testdata`, the Job in internal/runspec/job.go"},
		{text: "k8s.io/kubectl/pkg/cmd/logs/logs.go is kubectl's, github.com/x/pkg/y too"},
		{text: "unit-tested in `pkg/testrun`", want: []problem{"x.md:1: names pkg/testrun, which does not exist"}},
		{text: "see pkg/cmd/shared.", want: []problem{"x.md:1: names pkg/cmd/shared, which does not exist"}},
	}
	for _, tt := range packages {
		if diff := cmp.Diff(tt.want, missingPackages(root, "x.md", tt.text)); diff != "" {
			t.Errorf("missingPackages(%q) (-want +got):\n%s", tt.text, diff)
		}
	}
}

// checkDocRefs returns the references to docs/ in text that do not resolve, and how many references it found.
func (m *markdown) checkDocRefs(file, text string) ([]problem, int) {
	var problems []problem
	matches := docRef.FindAllStringSubmatchIndex(text, -1)
	for _, loc := range matches {
		at := file + ":" + line(text, loc[2])
		name := text[loc[2]:loc[3]]
		p, err := m.page(name)
		if err != nil {
			problems = append(problems, at+": docs/"+name+" does not exist")
			continue
		}
		switch {
		case loc[4] >= 0:
			section := text[loc[4]:loc[5]]
			if !p.headings[section] {
				problems = append(problems, at+": docs/"+name+" has no section "+quote(section)+" (its sections: "+sections(p)+")")
			}
		case loc[6] >= 0:
			anchor := text[loc[6]:loc[7]]
			if !p.anchors[anchor] {
				problems = append(problems, at+": docs/"+name+" has no anchor #"+anchor)
			}
		}
	}
	return problems, len(matches)
}

// checkLinks returns the relative links of the Markdown page file (README.md or docs/…) that do not resolve.
func (m *markdown) checkLinks(file, text string) []problem {
	var problems []problem
	for _, loc := range mdLink.FindAllStringSubmatchIndex(text, -1) {
		if loc[2] < 0 && loc[4] < 0 {
			continue
		}
		at := file + ":" + line(text, loc[0])
		target := file
		if loc[2] >= 0 {
			target = path.Join(path.Dir(file), text[loc[2]:loc[3]])
		}
		name, ok := strings.CutPrefix(target, "docs/")
		if !ok {
			// A page outside docs/ (LICENSE, the README): it only has to exist.
			if _, err := os.Stat(filepath.Join(m.root, filepath.FromSlash(target))); err != nil {
				problems = append(problems, at+": links to "+target+", which does not exist")
			}
			continue
		}
		p, err := m.page(name)
		if err != nil {
			problems = append(problems, at+": links to "+target+", which does not exist")
			continue
		}
		if loc[4] >= 0 && !p.anchors[text[loc[4]:loc[5]]] {
			problems = append(problems, at+": links to "+target+"#"+text[loc[4]:loc[5]]+", which is no heading of it")
		}
	}
	return problems
}

// page reads docs/name once and returns its headings; a page that is not Markdown has none.
func (m *markdown) page(name string) (*page, error) {
	if p, ok := m.pages[name]; ok {
		return p, nil
	}
	b, err := os.ReadFile(filepath.Join(m.root, "docs", filepath.FromSlash(name)))
	if err != nil {
		return nil, err
	}
	p := &page{headings: map[string]bool{}, anchors: map[string]bool{}}
	if strings.HasSuffix(name, ".md") {
		for _, h := range headings(string(b)) {
			p.headings[h] = true
			p.anchors[anchor(h)] = true
		}
	}
	m.pages[name] = p
	return p, nil
}

// headings returns the text of the ATX headings of a Markdown page, outside fenced code blocks, with inline
// code marks removed: "### The result document (`-o json`)" is "The result document (-o json)".
func headings(md string) []string {
	var hs []string
	fenced := false
	for l := range strings.Lines(md) {
		l = strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.TrimLeft(l, "#")
		if h == "" || h[0] != ' ' {
			continue
		}
		hs = append(hs, strings.TrimSpace(strings.ReplaceAll(h, "`", "")))
	}
	return hs
}

// anchor is the id GitHub gives a heading: lower case, punctuation dropped, spaces turned into hyphens.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// outsideRefs returns the references in text to design or style notes kept outside the repository.
func outsideRefs(file, text string) []problem {
	var problems []problem
	for _, loc := range outsideRef.FindAllStringIndex(text, -1) {
		problems = append(problems, file+":"+line(text, loc[0])+": points outside the repository ("+quote(text[loc[0]:loc[1]])+"): point to a section of docs/design.md")
	}
	return problems
}

// missingPackages returns the paths into internal/ or pkg/ that text names and root does not hold.
func missingPackages(root, file, text string) []problem {
	var problems []problem
	for _, loc := range packagePath.FindAllStringSubmatchIndex(text, -1) {
		p := strings.TrimRight(text[loc[2]:loc[3]], "./")
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			problems = append(problems, file+":"+line(text, loc[2])+": names "+p+", which does not exist")
		}
	}
	return problems
}

// repoFiles returns the files of the repository, relative to repoRoot, whose names keep accepts. It skips
// hidden directories, build output, testdata (fixtures may hold anything, hostile archives included) and this
// package, whose tests hold broken references on purpose.
func repoFiles(t *testing.T, keep func(name string) bool) []string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(repoRoot, "go.mod")); err != nil {
		t.Fatalf("%s is not the repository's top directory: %v", repoRoot, err)
	}
	var files []string
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoRoot, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || slices.Contains([]string{"testdata", "bin", "dist", "node_modules"}, d.Name()) ||
				filepath.ToSlash(rel) == "test/docs") {
				return filepath.SkipDir
			}
			return nil
		}
		if keep(rel) {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", repoRoot, err)
	}
	return files
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatalf("reading %s: %v", rel, err)
	}
	return string(b)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// line is the 1-based line number of offset in text, as a string.
func line(text string, offset int) string {
	return strconv.Itoa(strings.Count(text[:offset], "\n") + 1)
}

func quote(s string) string { return `"` + s + `"` }

// sections lists a page's headings for an error message, sorted.
func sections(p *page) string {
	hs := make([]string, 0, len(p.headings))
	for h := range p.headings {
		hs = append(hs, quote(h))
	}
	slices.Sort(hs)
	return strings.Join(hs, ", ")
}
