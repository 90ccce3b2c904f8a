package share

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		want        Shard
		wantSharded bool
		wantErr     string
	}{
		{name: "not sharded", env: nil},
		{name: "one shard", env: map[string]string{EnvCount: "1", EnvIndex: "0"}},
		{name: "sharded", env: map[string]string{EnvCount: "3", EnvIndex: "2"}, want: Shard{Index: 2, Count: 3, Plan: map[string]int{}}, wantSharded: true},
		{name: "a plan", env: map[string]string{EnvCount: "2", EnvIndex: "0", EnvTests: "1 TestA\n0 TestB\n\nbad\n0 a name with spaces"},
			want: Shard{Index: 0, Count: 2, Plan: map[string]int{"TestA": 1, "TestB": 0, "a name with spaces": 0}}, wantSharded: true},
		{name: "bad count", env: map[string]string{EnvCount: "x"}, wantErr: `TESTRUN_SHARD_COUNT="x" is not a shard count`},
		{name: "index out of range", env: map[string]string{EnvCount: "3", EnvIndex: "3"}, wantErr: `TESTRUN_SHARD_INDEX="3" is not a shard index below TESTRUN_SHARD_COUNT=3`},
		{name: "no index", env: map[string]string{EnvCount: "3"}, wantErr: `TESTRUN_SHARD_INDEX="" is not a shard index`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, sharded, err := FromEnv(env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FromEnv() error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sharded != tc.wantSharded {
				t.Errorf("sharded = %v, want %v", sharded, tc.wantSharded)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("FromEnv() (-want +got):\n%s", diff)
			}
		})
	}
}

// Every test is in exactly one shard; round robin in the suite's order; the plan decides for the tests it
// names, by any of their names.
func TestTake(t *testing.T) {
	tests := GoTests("TestA\nTestB\nTestC\nTestD\nTestE\nTestF\nTestG\n")
	keys := func(ts []Test) []string {
		var k []string
		for _, t := range ts {
			k = append(k, t.Key)
		}
		return k
	}
	take := func(count int, plan map[string]int) [][]string {
		var got [][]string
		for i := range count {
			got = append(got, keys(Shard{Index: i, Count: count, Plan: plan}.Take(tests)))
		}
		return got
	}
	if diff := cmp.Diff([][]string{{"TestA", "TestD", "TestG"}, {"TestB", "TestE"}, {"TestC", "TestF"}}, take(3, nil)); diff != "" {
		t.Errorf("round robin (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"TestA", "TestG"}, {"TestB", "TestD", "TestE"}, {"TestC", "TestF"}}, take(3, map[string]int{"TestD": 1, "TestG": 0, "TestGone": 2})); diff != "" {
		t.Errorf("with a plan (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"TestA"}, {"TestB"}, {"TestC"}, {"TestD"}, {"TestE"}, {"TestF"}, {"TestG"}, nil}, take(8, nil)); diff != "" {
		t.Errorf("more shards than tests (-want +got):\n%s", diff)
	}
	specs := []Test{{Key: "S a", Names: []string{"a", "[It] a"}}, {Key: "S b", Names: []string{"b", "[It] b [slow]"}}}
	got := keys(Shard{Index: 1, Count: 2, Plan: map[string]int{"[It] a": 1}}.Take(specs))
	if diff := cmp.Diff([]string{"S a", "S b"}, got); diff != "" {
		t.Errorf("a plan by the JUnit name (-want +got):\n%s", diff)
	}
}

func TestGoTestsAndRunPattern(t *testing.T) {
	list := "setting up\nTestLogin\nTestLogin_Admin\nBenchmarkHash\nFuzzParse\nExampleClient\nTestLogin\nok  \tapi\t0.01s\n"
	tests := GoTests(list)
	var keys []string
	for _, t := range tests {
		keys = append(keys, t.Key)
	}
	if diff := cmp.Diff([]string{"TestLogin", "TestLogin_Admin", "FuzzParse", "ExampleClient"}, keys); diff != "" {
		t.Errorf("GoTests() (-want +got):\n%s", diff)
	}
	pattern := GoRunPattern(tests[:1])
	if pattern != "^(TestLogin)$" {
		t.Errorf("GoRunPattern() = %q", pattern)
	}
	re := regexp.MustCompile(pattern)
	if re.MatchString("TestLogin_Admin") {
		t.Errorf("%q selects TestLogin_Admin, which another shard runs", pattern)
	}
	if GoRunPattern(nil) != "^$" {
		t.Errorf("an empty shard's pattern = %q, want ^$ (no test)", GoRunPattern(nil))
	}
}

func TestGoRunFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{args: []string{"test2json", "-t", "/tests/suite.test", "-test.v=test2json"}, want: ""},
		{args: []string{"/tests/suite.test", "-test.run=TestA"}, want: "TestA"},
		{args: []string{"/tests/suite.test", "--test.run", "TestB", "-test.count=1"}, want: "TestB"},
		{args: []string{"x", "-test.run=TestA", "-test.run=TestC"}, want: "TestC"},
		{args: []string{"x", "-test.runx=TestA"}, want: ""},
	}
	for _, tc := range tests {
		if got := GoRunFlag(tc.args); got != tc.want {
			t.Errorf("GoRunFlag(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// A dry run's report, as ginkgo writes it (the fields read here): a setup node, a Pending spec and a spec
// the filters left out are not run; a spec with labels is named with them in JUnit.
const dryRun = `[{"SuiteDescription": "Sample Suite", "SpecReports": [
  {"LeafNodeType": "BeforeSuite", "State": "passed"},
  {"ContainerHierarchyTexts": ["the sample"], "ContainerHierarchyLabels": [["api"]], "LeafNodeType": "It", "LeafNodeText": "adds", "LeafNodeLabels": ["fast", "api"], "State": "passed"},
  {"ContainerHierarchyTexts": ["the sample", ""], "ContainerHierarchyLabels": [[], []], "LeafNodeType": "It", "LeafNodeText": "greets", "State": "passed"},
  {"ContainerHierarchyTexts": ["the sample"], "LeafNodeType": "It", "LeafNodeText": "waits", "State": "pending"},
  {"ContainerHierarchyTexts": ["the sample"], "LeafNodeType": "It", "LeafNodeText": "filtered", "State": "skipped"}
]}]`

func TestGinkgoSpecsAndFocus(t *testing.T) {
	specs, err := GinkgoSpecs([]byte(dryRun))
	if err != nil {
		t.Fatal(err)
	}
	want := []Test{
		{Key: "Sample Suite the sample adds", Names: []string{"the sample adds", "[It] the sample adds [api, fast]"}},
		{Key: "Sample Suite the sample greets", Names: []string{"the sample greets", "[It] the sample greets"}},
	}
	if diff := cmp.Diff(want, specs); diff != "" {
		t.Errorf("GinkgoSpecs() (-want +got):\n%s", diff)
	}
	// ginkgo matches --focus against the suite's description, a space and the spec's text.
	re := regexp.MustCompile(GinkgoFocus(specs[1:]))
	for text, wantMatch := range map[string]bool{
		"Sample Suite the sample greets":       true,
		"Sample Suite the sample adds":         false,
		"Sample Suite the sample greets x":     false,
		"Other Sample Suite the sample greets": false,
	} {
		if re.MatchString(text) != wantMatch {
			t.Errorf("focus %s matches %q: %v, want %v", re, text, !wantMatch, wantMatch)
		}
	}
	if regexp.MustCompile(GinkgoFocus(nil)).MatchString("Sample Suite the sample adds") {
		t.Errorf("an empty shard's focus %q selects a spec", GinkgoFocus(nil))
	}
	if _, err := GinkgoSpecs([]byte("Ran 3 specs")); err == nil {
		t.Error("GinkgoSpecs() of text that is not a report succeeded")
	}
}

func TestGinkgoCommand(t *testing.T) {
	cmd := []string{"ginkgo", "--junit-report=junit.xml", "--output-dir=/out", "--label-filter", "smoke", "-focus=login", "--skip=slow", "-v", "/tests/a.test", "/tests/b.test", "--", "-x"}
	filters, suites, rest := GinkgoCommand(cmd)
	if diff := cmp.Diff([]string{"--ginkgo.label-filter=smoke", "--ginkgo.focus=login", "--ginkgo.skip=slow"}, filters); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/tests/a.test", "/tests/b.test"}, suites); diff != "" {
		t.Errorf("suites (-want +got):\n%s", diff)
	}
	wantRest := []string{"ginkgo", "--junit-report=junit.xml", "--output-dir=/out", "--label-filter", "smoke", "--skip=slow", "-v", "/tests/a.test", "/tests/b.test", "--", "-x"}
	if diff := cmp.Diff(wantRest, rest); diff != "" {
		t.Errorf("the command without its focus (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		cmd  []string
		want string
	}{
		{cmd: cmd, want: "/out/junit.xml"},
		{cmd: []string{"ginkgo", "--output-dir", "/out", "--junit-report", "/abs/j.xml", "s.test"}, want: "/abs/j.xml"},
		{cmd: []string{"ginkgo", "--junit-report=j.xml", "s.test"}, want: "j.xml"},
		{cmd: []string{"ginkgo", "s.test", "--", "--junit-report=x"}, want: ""},
	} {
		if got := GinkgoJUnitPath(tc.cmd); got != tc.want {
			t.Errorf("GinkgoJUnitPath(%q) = %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

// The other shards' specs, which ginkgo reports as skipped, go; a spec of this shard skipped by the suite
// itself, a failed spec and setup nodes stay; the counts follow.
func TestDropFiltered(t *testing.T) {
	report := `<?xml version="1.0" encoding="UTF-8"?>
  <testsuites tests="4" disabled="3" errors="0" failures="1" time="0.1">
      <testsuite name="Sample Suite" tests="4" disabled="0" skipped="3" errors="0" failures="1" time="0.1">
          <properties><property name="RandomSeed" value="1"></property></properties>
          <testcase name="[It] the sample adds" classname="Sample Suite" status="skipped" time="0">
              <skipped message="skipped"></skipped>
          </testcase>
          <testcase name="[It] the sample greets" classname="Sample Suite" status="failed" time="0.1">
              <failure message="Expected" type="failed">a &lt;b&gt; &amp; c</failure>
              <system-err>line 1
line 2</system-err>
          </testcase>
          <testcase name="[It] the sample is skipped" classname="Sample Suite" status="skipped" time="0">
              <skipped message="skipped - on purpose"></skipped>
          </testcase>
          <testcase name="[It] the sample waits" classname="Sample Suite" status="skipped" time="0">
              <skipped message="skipped"></skipped>
          </testcase>
      </testsuite>
  </testsuites>`
	others := map[string]bool{"[It] the sample adds": true, "[It] the sample waits": true, "[It] the sample greets": true}
	out, err := DropFiltered([]byte(report), func(n string) bool { return others[n] })
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		`<testsuites tests="2" disabled="1" errors="0" failures="1" time="0.1">`,
		`<testsuite name="Sample Suite" tests="2" disabled="0" skipped="1" errors="0" failures="1" time="0.1">`,
		`name="[It] the sample greets"`, `a &lt;b&gt; &amp; c</failure>`, "line 1&#xA;line 2</system-err>", // the same text, escaped
		`name="[It] the sample is skipped"`, `<property name="RandomSeed" value="1"></property>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
	for _, gone := range []string{"the sample adds", "the sample waits"} {
		if strings.Contains(got, gone) {
			t.Errorf("the report still has %q, another shard's spec:\n%s", gone, got)
		}
	}
	same, err := DropFiltered([]byte(report), func(string) bool { return false })
	if err != nil || string(same) != report {
		t.Errorf("a report with nothing to drop changed (%v):\n%s", err, same)
	}
	if _, err := DropFiltered([]byte("<html></html>"), func(string) bool { return true }); err == nil {
		t.Error("DropFiltered() of a page that is not JUnit succeeded")
	}
}
