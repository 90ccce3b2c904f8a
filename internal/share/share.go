// Package share works out one shard's share of a suite for testrun-shard, the launcher that the go-test
// and ginkgo definitions put before their command in a sharded run (spec.sharding split: wrap). Their
// images have no shell, so the launcher lists the suite's tests itself, keeps this shard's share, and runs
// the command with a filter that selects exactly that share.
//
// The share is the one the shell and pytest definitions take: the tests the plan of TESTRUN_SHARD_TESTS
// (--balance-from) gives this shard, and of the tests the plan does not name, every count-th from the
// index-th in the suite's own order. Everything here is pure: the launcher runs the processes.
package share

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The variables a shard's pod gets (see the runspec package).
const (
	EnvIndex = "TESTRUN_SHARD_INDEX"
	EnvCount = "TESTRUN_SHARD_COUNT"
	EnvTests = "TESTRUN_SHARD_TESTS"
)

// Shard is what a pod knows of its shard.
type Shard struct {
	// Index is the shard's index, from 0; Count the number of shards.
	Index, Count int
	// Plan maps a test's name to the shard --balance-from gave it.
	Plan map[string]int
}

// FromEnv reads the shard from the variables through getenv. It returns false, and no error, when the run is
// not sharded (no count, or a count of 1).
func FromEnv(getenv func(string) string) (Shard, bool, error) {
	c := getenv(EnvCount)
	if c == "" {
		return Shard{}, false, nil
	}
	count, err := strconv.Atoi(c)
	if err != nil || count < 0 {
		return Shard{}, false, fmt.Errorf("%s=%q is not a shard count: run this launcher in a sharded run of kubectl testrun (--shards)", EnvCount, c)
	}
	if count <= 1 {
		return Shard{}, false, nil
	}
	i := getenv(EnvIndex)
	index, err := strconv.Atoi(i)
	if err != nil || index < 0 || index >= count {
		return Shard{}, false, fmt.Errorf("%s=%q is not a shard index below %s=%d: run this launcher in a sharded run of kubectl testrun (--shards)", EnvIndex, i, EnvCount, count)
	}
	s := Shard{Index: index, Count: count, Plan: map[string]int{}}
	for _, line := range strings.Split(getenv(EnvTests), "\n") {
		n, name, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if k, err := strconv.Atoi(n); err == nil {
			s.Plan[name] = k
		}
	}
	return s, true, nil
}

// Test is one test of a suite: Key is what the filter selects it by, Names are the names a plan may know it
// by (the name its framework gives it in a JUnit report).
type Test struct {
	Key   string
	Names []string
}

// Take returns the tests of this shard, in the suite's order: those the plan gives it, and of those it does
// not name, the ones whose position n in tests has n % Count == Index.
func (s Shard) Take(tests []Test) []Test {
	var mine []Test
	for n, t := range tests {
		planned, inPlan := -1, false
		for _, name := range t.Names {
			if k, ok := s.Plan[name]; ok {
				planned, inPlan = k, true
				break
			}
		}
		if inPlan && planned == s.Index || !inPlan && n%s.Count == s.Index {
			mine = append(mine, t)
		}
	}
	return mine
}

// goListed matches a line of a Go test binary's -test.list output that names a test, a fuzz target or an
// example; benchmarks are not run by -test.run, and other lines are the suite's own output.
var goListed = regexp.MustCompile(`^(Test|Fuzz|Example)[^\s/]*$`)

// GoTests returns the tests of the output of a Go test binary's -test.list, in its order (the order of the
// source), each once.
func GoTests(list string) []Test {
	var tests []Test
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if goListed.MatchString(name) && !seen[name] {
			seen[name] = true
			tests = append(tests, Test{Key: name, Names: []string{name}})
		}
	}
	return tests
}

// GoRunPattern returns the -test.run pattern that runs exactly tests (top-level names, with their subtests);
// with none, a pattern that runs no test, so that the shard passes with an empty report.
func GoRunPattern(tests []Test) string {
	if len(tests) == 0 {
		return "^$"
	}
	keys := make([]string, len(tests))
	for i, t := range tests {
		keys[i] = regexp.QuoteMeta(t.Key)
	}
	return "^(" + strings.Join(keys, "|") + ")$"
}

// GoRunFlag returns the value of the last -test.run flag of args (-test.run=X, -test.run X, with one or two
// dashes), "" when there is none: the tests the user chose, which the share is taken from.
func GoRunFlag(args []string) string {
	run := ""
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(strings.TrimPrefix(args[i], "-"), "-")
		if a == args[i] {
			continue
		}
		if v, ok := strings.CutPrefix(a, "test.run="); ok {
			run = v
		} else if a == "test.run" && i+1 < len(args) {
			run = args[i+1]
			i++
		}
	}
	return run
}

// ginkgoReport is the part of a ginkgo JSON report (--json-report) read here.
type ginkgoReport struct {
	SuiteDescription string `json:"SuiteDescription"`
	SpecReports      []struct {
		ContainerHierarchyTexts  []string   `json:"ContainerHierarchyTexts"`
		ContainerHierarchyLabels [][]string `json:"ContainerHierarchyLabels"`
		LeafNodeType             string     `json:"LeafNodeType"`
		LeafNodeText             string     `json:"LeafNodeText"`
		LeafNodeLabels           []string   `json:"LeafNodeLabels"`
		State                    string     `json:"State"`
	} `json:"SpecReports"`
}

// GinkgoSpecs returns the specs a ginkgo dry run (--ginkgo.dry-run --ginkgo.json-report) would run, in its
// order, each once. A spec's Key is the text ginkgo matches --focus against (the suite's description, then
// the texts of its containers and its own); its Names are its full text and its name in ginkgo's JUnit
// report ("[It] text", with " [labels]" when it has labels).
func GinkgoSpecs(jsonReport []byte) ([]Test, error) {
	var reports []ginkgoReport
	if err := json.Unmarshal(jsonReport, &reports); err != nil {
		return nil, fmt.Errorf("reading the dry run's JSON report: %w", err)
	}
	var tests []Test
	seen := map[string]bool{}
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != "It" || s.State != "passed" {
				continue // setup nodes, and specs the filters or Pending leave out
			}
			texts := slices.DeleteFunc(slices.Concat(s.ContainerHierarchyTexts, []string{s.LeafNodeText}), func(t string) bool { return t == "" })
			full := strings.Join(texts, " ")
			key := r.SuiteDescription + " " + full
			if seen[key] {
				continue
			}
			seen[key] = true
			var labels []string
			for _, l := range slices.Concat(slices.Concat(s.ContainerHierarchyLabels...), s.LeafNodeLabels) {
				if !slices.Contains(labels, l) {
					labels = append(labels, l)
				}
			}
			junit := "[It] " + full
			if len(labels) > 0 {
				junit += " [" + strings.Join(labels, ", ") + "]"
			}
			tests = append(tests, Test{Key: key, Names: []string{full, junit}})
		}
	}
	return tests, nil
}

// GinkgoFocus returns the --focus pattern that runs exactly specs; with none, a pattern that matches no
// spec (every spec's text starts with its suite's description), so that the shard runs nothing and passes.
func GinkgoFocus(specs []Test) string {
	if len(specs) == 0 {
		return `^\z.`
	}
	keys := make([]string, len(specs))
	for i, s := range specs {
		keys[i] = regexp.QuoteMeta(s.Key)
	}
	return "^(" + strings.Join(keys, "|") + ")$"
}

// ginkgoValueFlags are the ginkgo CLI's flags that choose specs; the dry run must see them to list what the
// command would run.
var ginkgoValueFlags = []string{"focus", "skip", "label-filter", "focus-file", "skip-file"}

// GinkgoCommand splits the ginkgo command line cmd (the ginkgo CLI, its flags and the suites) into what the
// launcher needs: the flags that choose specs, as flags of a suite binary (--ginkgo.label-filter=smoke) for
// the dry run; the suites (the words that end in .test); and the command without its --focus flags, which
// the shard's own focus replaces (the dry run applied them).
func GinkgoCommand(cmd []string) (filters, suites, rest []string) {
	if len(cmd) == 0 {
		return nil, nil, nil
	}
	rest = []string{cmd[0]}
	for i := 1; i < len(cmd); i++ {
		a := cmd[i]
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if a == "--" {
			rest = append(rest, cmd[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && slices.Contains(ginkgoValueFlags, name) {
			words := []string{a}
			if !hasValue && i+1 < len(cmd) {
				value = cmd[i+1]
				words = append(words, value)
				i++
			}
			filters = append(filters, "--ginkgo."+name+"="+value)
			if name != "focus" {
				rest = append(rest, words...)
			}
			continue
		}
		if !strings.HasPrefix(a, "-") && strings.HasSuffix(a, ".test") {
			suites = append(suites, a)
		}
		rest = append(rest, a)
	}
	return filters, suites, rest
}

// GinkgoJUnitPath returns the path of the JUnit report the ginkgo command cmd writes (--junit-report, in
// --output-dir when that is given and the path is relative), "" when it writes none.
func GinkgoJUnitPath(cmd []string) string {
	var report, dir string
	for i := 1; i < len(cmd) && cmd[i] != "--"; i++ {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(cmd[i], "-"), "-"), "=")
		if !strings.HasPrefix(cmd[i], "-") || name != "junit-report" && name != "output-dir" {
			continue
		}
		if !hasValue && i+1 < len(cmd) {
			value = cmd[i+1]
			i++
		}
		if name == "junit-report" {
			report = value
		} else {
			dir = value
		}
	}
	if report == "" || dir == "" || strings.HasPrefix(report, "/") {
		return report
	}
	return dir + "/" + report
}

// xmlNode is any XML element, kept whole: its attributes, its text and its children.
type xmlNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []xmlNode  `xml:",any"`
}

// lessen takes d from the first of the integer attributes names that n has, down to 0.
func (n *xmlNode) lessen(d int, names ...string) {
	for _, name := range names {
		for i, a := range n.Attrs {
			if v, err := strconv.Atoi(a.Value); err == nil && a.Name.Local == name {
				n.Attrs[i].Value = strconv.Itoa(max(v-d, 0))
				return
			}
		}
	}
}

// DropFiltered removes from a JUnit report the test cases that were skipped and that drop names, and lessens
// the counts of their suites and of the report to match. Ginkgo reports the specs its --focus filtered out as
// skipped, so without this every shard's report would list the other shards' specs too. It returns the
// report unchanged when it drops nothing.
func DropFiltered(report []byte, drop func(name string) bool) ([]byte, error) {
	var root xmlNode
	if err := xml.Unmarshal(report, &root); err != nil {
		return nil, fmt.Errorf("reading the JUnit report: %w", err)
	}
	filter := func(suite *xmlNode) int {
		dropped := 0
		suite.Nodes = slices.DeleteFunc(suite.Nodes, func(c xmlNode) bool {
			if c.XMLName.Local != "testcase" || !slices.ContainsFunc(c.Nodes, func(s xmlNode) bool { return s.XMLName.Local == "skipped" }) {
				return false
			}
			for _, a := range c.Attrs {
				if a.Name.Local == "name" && drop(a.Value) {
					dropped++
					return true
				}
			}
			return false
		})
		suite.lessen(dropped, "tests")
		suite.lessen(dropped, "skipped", "disabled")
		return dropped
	}
	total := 0
	switch root.XMLName.Local {
	case "testsuite":
		total = filter(&root)
	case "testsuites":
		for i := range root.Nodes {
			if root.Nodes[i].XMLName.Local == "testsuite" {
				total += filter(&root.Nodes[i])
			}
		}
		root.lessen(total, "tests")
		root.lessen(total, "skipped", "disabled")
	default:
		return nil, fmt.Errorf("reading the JUnit report: its root is <%s>, not <testsuites> or <testsuite>", root.XMLName.Local)
	}
	if total == 0 {
		return report, nil
	}
	trimSpace(&root)
	out, err := xml.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("writing the JUnit report: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// trimSpace empties the text of n and its children that is only the indentation between elements, which
// MarshalIndent writes anew.
func trimSpace(n *xmlNode) {
	if strings.TrimSpace(n.Text) == "" {
		n.Text = ""
	}
	for i := range n.Nodes {
		trimSpace(&n.Nodes[i])
	}
}
