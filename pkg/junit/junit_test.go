package junit

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
)

// reportsDir holds one report from each tool the package is known to read,
// laid out as a test run's report directory after `fetch`, with files that
// are not JUnit reports among them.
const reportsDir = "testdata/reports"

func TestFindReportsDir(t *testing.T) {
	got, err := Find(reportsDir)
	if err != nil {
		t.Fatalf("Find(%q): %v", reportsDir, err)
	}
	// misc/coverage.xml (Cobertura) and pytest/output.txt are not reports.
	want := []string{
		"ginkgo/junit_report.xml",
		"go/report.xml",
		"gotestsum/junit.xml",
		"jest/junit.xml",
		"misc/crlf.xml",
		"misc/empty.xml",
		"misc/nested.xml",
		"pytest/junit.xml",
		"surefire/TEST-com.acme.shop.CartTest.xml",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Find(%q) (-want +got):\n%s", reportsDir, diff)
	}
}

func TestFind(t *testing.T) {
	const suite = `<testsuite name="s" tests="0"></testsuite>`
	tests := []struct {
		name    string
		content string
		want    bool
	}{
		{name: "testsuites root", content: `<?xml version="1.0"?>` + "\n<testsuites><testsuite/></testsuites>", want: true},
		{name: "testsuite root without declaration", content: suite, want: true},
		{name: "comment and doctype before the root", content: "<?xml version=\"1.0\"?>\n<!-- generated -->\n<!DOCTYPE testsuite>\n" + suite, want: true},
		{name: "byte order mark", content: "\uFEFF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + suite, want: true},
		{name: "namespace prefix", content: `<j:testsuite xmlns:j="urn:junit"></j:testsuite>`, want: true},
		{name: "declared latin-1", content: `<?xml version="1.0" encoding="ISO-8859-1"?>` + suite, want: true},
		{name: "root start tag longer than a KiB", content: `<testsuites name="` + strings.Repeat("x", 3000) + `"></testsuites>`, want: true},
		{name: "root starts after the first KiB", content: "<!--" + strings.Repeat(" ", 1100) + "-->" + suite, want: false},
		{name: "other root element", content: `<?xml version="1.0"?><coverage line-rate="1"></coverage>`, want: false},
		{name: "testcase root", content: `<testcase name="t"/>`, want: false},
		{name: "root name with testsuite prefix", content: `<testsuitex/>`, want: false},
		{name: "empty file", content: "", want: false},
		{name: "not XML", content: "PK\x03\x04\x00\x00 binary", want: false},
		{name: "text before the root", content: "FAIL\n" + suite, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			testkit.WriteFiles(t, dir, map[string]string{"report.xml": tt.content})
			got, err := Find(dir)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if found := len(got) == 1; found != tt.want {
				t.Errorf("Find of a report.xml holding %.80q = %q, want found=%v", tt.content, got, tt.want)
			}
		})
	}
}

func TestFindNames(t *testing.T) {
	const suite = `<testsuite name="s"></testsuite>`
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"junit.xml":                 suite,
		"a/b/c/TEST-deep.xml":       suite,
		"UPPER.XML":                 suite,
		"junit.xml.txt":             suite,
		"junit.json":                `{"testsuite": {}}`,
		"notes.txt":                 "not a report",
		"dir.xml/inside.xml":        suite,
		"with space/report one.xml": suite,
	})
	if err := os.Symlink(filepath.Join(dir, "junit.xml"), filepath.Join(dir, "link.xml")); err != nil {
		t.Fatal(err)
	}
	got, err := Find(dir)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	// A directory called dir.xml is walked, not read; the symbolic link is
	// not followed.
	want := []string{"UPPER.XML", "a/b/c/TEST-deep.xml", "dir.xml/inside.xml", "junit.xml", "with space/report one.xml"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Find (-want +got):\n%s", diff)
	}
}

func TestFindMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "never-fetched")
	_, err := Find(dir)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Find(%q) error = %v, want one that wraps fs.ErrNotExist and names the directory", dir, err)
	}
}

// reportSummaries is what each report in reportsDir adds up to.
var reportSummaries = map[string]Summary{
	"go/report.xml": {
		Tests: 5, Failures: 1, Skipped: 1, Time: 0.02,
		Failed: []Case{{Suite: "github.com/acme/shop/cart", Name: "TestRemove", Message: `cart_test.go:42: Remove("sku-1"): got 2 items, want 1`}},
	},
	// gotestsum reports a package that did not build as a failed TestMain.
	"gotestsum/junit.xml": {
		Tests: 4, Failures: 2, Time: 0.412,
		Failed: []Case{
			{Suite: "example.com/orders/api", Name: "TestRejectEmptyCart", Message: "api_test.go:88: status = 500, want 400"},
			{Suite: "example.com/orders/store", Name: "TestMain", Message: "store/store_test.go:12:2: undefined: newTestDB"},
		},
	},
	// pytest's suite is always called "pytest": the class name says where
	// the test is.
	"pytest/junit.xml": {
		Tests: 5, Failures: 1, Errors: 1, Skipped: 1, Time: 2.318,
		Failed: []Case{
			{Suite: "tests.test_login.TestLogin", Name: "test_bad_password", Message: "AssertionError: expected 401, got 200\nassert 200 == 401\n +  where 200 = <Response [200]>.status_code"},
			{Suite: "tests.test_orders", Name: "test_create_order", Message: `failed on setup with "psycopg.OperationalError: connection refused"`, Error: true},
		},
	},
	// jest-junit writes no message attribute, and its class name repeats the
	// test name.
	"jest/junit.xml": {
		Tests: 4, Failures: 1, Skipped: 1, Time: 3.104,
		Failed: []Case{{Suite: "Cart", Name: "Cart removes an item", Message: "Error: expect(received).toBe(expected) // Object.is equality"}},
	},
	// Ginkgo's suite has <properties>, which go-junit puts in place of the
	// suite's attributes: its time still counts.
	"ginkgo/junit_report.xml": {
		Tests: 4, Failures: 1, Skipped: 1, Time: 5.046,
		Failed: []Case{{Suite: "Orders E2E Suite", Name: "[It] Orders API rejects an empty cart [api]", Message: "[FAILED] Expected\n    <int>: 500\nto equal\n    <int>: 400"}},
	},
	"surefire/TEST-com.acme.shop.CartTest.xml": {
		Tests: 3, Errors: 1, Time: 0.087,
		Failed: []Case{{Suite: "com.acme.shop.CartTest", Name: "loadsFixture", Message: "fixtures/cart.json (No such file or directory)", Error: true}},
	},
	"misc/empty.xml": {Time: 0.002},
	// The outer suite's totals include the nested suites: counting both
	// would make 8 tests and 2 failures.
	"misc/nested.xml": {
		Tests: 4, Failures: 1, Time: 0.9,
		Failed: []Case{{Suite: `Shop\Cart`, Name: "testRemove", Message: "Failed asserting that 2 matches expected 1."}},
	},
	// The failure body's first line ends in "\r" before it is trimmed.
	"misc/crlf.xml": {
		Tests: 2, Failures: 1, Time: 0.5,
		Failed: []Case{{Suite: "Agent.Tests.Config", Name: "ReadsRegistry", Message: `Expected: "C:\agent"`}},
	},
}

func TestSummarizeEachReport(t *testing.T) {
	for file, want := range reportSummaries {
		t.Run(file, func(t *testing.T) {
			want.Files = []string{file}
			got, err := Summarize(reportsDir, []string{file})
			if err != nil {
				t.Fatalf("Summarize(%q): %v", file, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Summarize(%q) (-want +got):\n%s", file, diff)
			}
		})
	}
}

func TestCRLFReportKeepsItsLineEnds(t *testing.T) {
	// A checkout that converts line ends would make the CRLF test prove
	// nothing; testdata/.gitattributes prevents that.
	b, err := os.ReadFile(filepath.Join(reportsDir, "misc/crlf.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if n, m := bytes.Count(b, []byte("\r\n")), bytes.Count(b, []byte("\n")); n == 0 || n != m {
		t.Errorf("misc/crlf.xml has %d CRLF line ends out of %d lines, want all of them", n, m)
	}
}

func TestSummarizeReportsDir(t *testing.T) {
	files, err := Find(reportsDir)
	if err != nil {
		t.Fatal(err)
	}
	// Given in reverse order and with a duplicate: the summary is the same.
	var given []string
	for i := len(files) - 1; i >= 0; i-- {
		given = append(given, files[i])
	}
	given = append(given, files[0])
	got, err := Summarize(reportsDir, given)
	if err != nil {
		t.Fatalf("Summarize: %v", err)
	}
	want := Summary{Files: files}
	for _, f := range files {
		s, ok := reportSummaries[f]
		if !ok {
			t.Fatalf("Find returned %q, which reportSummaries does not describe", f)
		}
		want.Tests += s.Tests
		want.Failures += s.Failures
		want.Errors += s.Errors
		want.Skipped += s.Skipped
		want.Failed = append(want.Failed, s.Failed...)
	}
	want.Time = 12.389 // the files' times, added up by hand
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize of every report (-want +got):\n%s", diff)
	}
	if want.Tests != 31 || want.Failures != 8 || want.Errors != 2 || want.Skipped != 4 {
		t.Errorf("reportSummaries add up to %d tests, %d failures, %d errors, %d skipped; the totals in line-reports.golden assume 31, 8, 2, 4",
			want.Tests, want.Failures, want.Errors, want.Skipped)
	}
}

func TestSummarizeInline(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    Summary
	}{
		{
			name:    "suite without time adds its cases",
			content: `<testsuite name="s"><testcase name="a" time="0.25"/><testcase name="b" time="1.5"/></testsuite>`,
			want:    Summary{Tests: 2, Time: 1.75},
		},
		{
			name: "suite time over the sum of its cases",
			content: `<testsuites time="99"><testsuite name="s" time="3.5"><testcase name="a" time="0.5"/></testsuite>` +
				`<testsuite name="t"><testcase name="b" time="0.25"/></testsuite></testsuites>`,
			want: Summary{Tests: 2, Time: 3.75},
		},
		{
			name:    "time with a thousands separator",
			content: `<testsuite name="s" time="1,234.5"><testcase name="a"/></testsuite>`,
			want:    Summary{Tests: 1, Time: 1234.5},
		},
		{
			name:    "time as a Go duration",
			content: `<testsuite name="s" time="1m2.5s"><testcase name="a"/></testsuite>`,
			want:    Summary{Tests: 1, Time: 62.5},
		},
		{
			name:    "unusable time falls back to the cases",
			content: `<testsuite name="s" time="-1"><testcase name="a" time="2"/></testsuite><testsuite name="t" time="soon"><testcase name="b" time="NaN"/></testsuite>`,
			want:    Summary{Tests: 2, Time: 2},
		},
		{
			name:    "floating point sums are rounded to the millisecond",
			content: `<testsuites><testsuite time="0.1"/><testsuite time="0.2"/></testsuites>`,
			want:    Summary{Time: 0.3},
		},
		{
			name:    "no suites",
			content: `<testsuites/>`,
			want:    Summary{},
		},
		{
			name: "failure and error without message or body",
			content: `<testsuite name="s"><testcase classname="s" name="a"><failure/></testcase>` +
				`<testcase name="b"><error message="  "/></testcase></testsuite>`,
			want: Summary{Tests: 2, Failures: 1, Errors: 1, Failed: []Case{{Suite: "s", Name: "a"}, {Suite: "s", Name: "b", Error: true}}},
		},
		{
			name:    "message from the first non-blank line of the body",
			content: "<testsuite name=\"s\"><testcase name=\"a\"><failure>\n\n   panic: boom  \n\ngoroutine 1</failure></testcase></testsuite>",
			want:    Summary{Tests: 1, Failures: 1, Failed: []Case{{Suite: "s", Name: "a", Message: "panic: boom"}}},
		},
		{
			name:    "a generic message (gotestsum's Failed) gives way to the body's first line",
			content: "<testsuite name=\"s\"><testcase name=\"a\"><failure message=\"Failed\">=== RUN   TestA\n    a_test.go:9: want 3, got 4\n--- FAIL: TestA</failure></testcase></testsuite>",
			want:    Summary{Tests: 1, Failures: 1, Failed: []Case{{Suite: "s", Name: "a", Message: "a_test.go:9: want 3, got 4"}}},
		},
		{
			name:    "a generic message without a body stays",
			content: `<testsuite name="s"><testcase name="a"><failure message="Failed"/></testcase></testsuite>`,
			want:    Summary{Tests: 1, Failures: 1, Failed: []Case{{Suite: "s", Name: "a", Message: "Failed"}}},
		},
		{
			name: "cases in nested suites come after the suite's own cases",
			content: `<testsuite name="outer"><testsuite name="inner"><testcase name="a"><failure message="1"/></testcase></testsuite>` +
				`<testcase name="b"><failure message="2"/></testcase></testsuite>`,
			want: Summary{Tests: 2, Failures: 2, Failed: []Case{{Suite: "outer", Name: "b", Message: "2"}, {Suite: "inner", Name: "a", Message: "1"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			testkit.WriteFiles(t, dir, map[string]string{"junit.xml": tt.content})
			tt.want.Files = []string{"junit.xml"}
			got, err := Summarize(dir, []string{"junit.xml"})
			if err != nil {
				t.Fatalf("Summarize: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Summarize of %q (-want +got):\n%s", tt.content, diff)
			}
		})
	}
}

func TestSummarizeNothing(t *testing.T) {
	got, err := Summarize(t.TempDir(), nil)
	if err != nil {
		t.Fatalf("Summarize with no files: %v", err)
	}
	if diff := cmp.Diff(Summary{Files: []string{}}, got); diff != "" {
		t.Errorf("Summarize with no files (-want +got):\n%s", diff)
	}
}

func TestSummarizeErrors(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		files   []string
		wantIn  []string // substrings of the error
		wantErr error    // wrapped by the error, if not nil
	}{
		{
			name:   "truncated report",
			dir:    "testdata/malformed",
			files:  []string{"junit.xml"},
			wantIn: []string{`parsing junit report "junit.xml"`, "XML syntax error"},
		},
		{
			name:   "report cut between elements",
			dir:    "testdata/malformed",
			files:  []string{"cut.xml"},
			wantIn: []string{`parsing junit report "cut.xml"`, "XML syntax error"},
		},
		{
			name:    "missing report",
			dir:     reportsDir,
			files:   []string{"go/report.xml", "go/gone.xml"},
			wantIn:  []string{`"go/gone.xml"`},
			wantErr: fs.ErrNotExist,
		},
		{
			name:   "name outside the directory",
			dir:    reportsDir + "/go",
			files:  []string{"../pytest/junit.xml"},
			wantIn: []string{`"../pytest/junit.xml"`, "escapes"},
		},
		{
			name:    "missing directory",
			dir:     "testdata/never-fetched",
			files:   []string{"junit.xml"},
			wantIn:  []string{`"testdata/never-fetched"`},
			wantErr: fs.ErrNotExist,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Summarize(tt.dir, tt.files)
			if err == nil {
				t.Fatalf("Summarize(%q, %q) = %+v, want an error", tt.dir, tt.files, got)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Summarize error %q does not contain %q", err, s)
				}
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Summarize error %q does not wrap %v", err, tt.wantErr)
			}
		})
	}
}

func TestReadReportLimit(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"big.xml": strings.Repeat("x", 11)})
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = root.Close() }()
	if _, err := readReport(root, "big.xml", 11); err != nil {
		t.Errorf("readReport of 11 bytes with a limit of 11: %v", err)
	}
	_, err = readReport(root, "big.xml", 10)
	if err == nil || !strings.Contains(err.Error(), `"big.xml" is larger than 10 bytes`) {
		t.Errorf("readReport of 11 bytes with a limit of 10: error = %v, want one naming the file and the limit", err)
	}
}
