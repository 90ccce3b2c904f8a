package junit

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
)

func TestLineGolden(t *testing.T) {
	reports, err := Summarize(reportsDir, mustFind(t, reportsDir))
	if err != nil {
		t.Fatal(err)
	}
	var many []Case
	for i := range 23 {
		many = append(many, Case{Suite: "example.com/flaky", Name: fmt.Sprintf("TestRetry%02d", i), Message: "Failed", Error: i%5 == 4})
	}
	tests := []struct {
		name    string
		summary Summary
	}{
		{name: "reports", summary: reports},
		{name: "none", summary: Summary{Files: []string{}}},
		{name: "no-tests", summary: Summary{Files: []string{"empty.xml"}, Time: 0.002}},
		{name: "passed", summary: Summary{Files: []string{"a.xml", "b.xml"}, Tests: 12, Skipped: 2, Time: 0.42}},
		{
			name: "singular",
			summary: Summary{
				Files: []string{"junit.xml"}, Tests: 1, Failures: 1, Errors: 1, Skipped: 1, Time: 1,
				Failed: []Case{{Suite: "s", Name: "a", Message: "boom"}, {Suite: "s", Name: "b", Error: true}},
			},
		},
		{
			name:    "many",
			summary: Summary{Files: []string{"junit.xml"}, Tests: 40, Failures: 19, Errors: 4, Time: 754.56, Failed: many},
		},
		{
			name: "hostile",
			summary: Summary{
				Files: []string{"junit.xml"}, Tests: 6, Failures: 6, Time: 3599.6,
				Failed: []Case{
					{Suite: "ansi", Name: "\x1b[1mcolour\x1b[0m", Message: "\x1b[31mexpected\x1b[0m 1\x1b]0;title\x07"},
					{Suite: "", Name: "no suite", Message: "\r\n\t  first\tline\r\nsecond line"},
					{Suite: "controls", Name: "nul\x00bell\x07", Message: "invalid \xff utf-8 \x00"},
					{Suite: "long", Name: "message", Message: strings.Repeat("0123456789", 30)},
					{Suite: "blank", Name: "message", Message: " \n\t\n"},
					{Suite: "unicode", Name: "тест 名前", Message: "ошибка: 期待 ✓"},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.summary.Line()
			for _, r := range got {
				if r != '\n' && r < ' ' {
					t.Fatalf("Line() = %q holds the control character %q, which could drive a terminal", got, r)
				}
			}
			testkit.Golden(t, filepath.Join("testdata", "line-"+tt.name+".golden"), []byte(got+"\n"))
		})
	}
}

func mustFind(t *testing.T, dir string) []string {
	t.Helper()
	files, err := Find(dir)
	if err != nil {
		t.Fatalf("Find(%q): %v", dir, err)
	}
	return files
}

func TestFormatSeconds(t *testing.T) {
	tests := []struct {
		sec  float64
		want string
	}{
		{sec: 0, want: "0.0s"},
		{sec: 0.04, want: "0.0s"},
		{sec: 12.389, want: "12.4s"},
		{sec: 59.94, want: "59.9s"},
		{sec: 59.96, want: "1m0s"},
		{sec: 754.56, want: "12m35s"},
		{sec: 90061.4, want: "25h1m1s"},
		{sec: 1e300, want: "1e+300s"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := formatSeconds(tt.sec); got != tt.want {
				t.Errorf("formatSeconds(%v) = %q, want %q", tt.sec, got, tt.want)
			}
		})
	}
}
