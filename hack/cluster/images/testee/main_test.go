package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "0", want: 0},
		{in: "4096", want: 4096},
		{in: "1Ki", want: 1024},
		{in: "200Mi", want: 200 << 20},
		{in: "50Mi", want: 50 * 1024 * 1024},
		{in: "2Gi", want: 2 << 30},
		{in: "1Ti", want: 1 << 40},
		{in: "5k", want: 5000},
		{in: "5K", want: 5000},
		{in: "3M", want: 3_000_000},
		{in: "1G", want: 1_000_000_000},
		{in: "", wantErr: true},
		{in: "Mi", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "+5", wantErr: true},
		{in: "1.5Gi", wantErr: true},
		{in: "10MB", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "9999999999Ti", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseSize(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("parseSize(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "plain", want: "plain"},
		{in: "", want: ""},
		{in: `a\nb`, want: "a\nb"},
		{in: `crlf\r\n`, want: "crlf\r\n"},
		{in: `tab\there`, want: "tab\there"},
		{in: `back\\slash`, want: `back\slash`},
		{in: `semi\;colon`, want: "semi;colon"},
		{in: `\\n`, want: `\n`},
		{in: `trailing\`, wantErr: true},
		{in: `bad\x`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := unescape(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("unescape(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseFiles(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []fileSpec
		wantErr string
	}{
		{
			name: "text",
			in:   "out.txt=text:hello",
			want: []fileSpec{{Path: "out.txt", Kind: "text", Text: "hello"}},
		},
		{
			name: "text with escapes, '=' and escaped ';'",
			in:   `a/b.txt=text:x=1\r\ny=2\;z`,
			want: []fileSpec{{Path: "a/b.txt", Kind: "text", Text: "x=1\r\ny=2;z"}},
		},
		{
			name: "several entries, blank ones and spaces around paths",
			in:   "one=random:50Mi; ;\n two/junit.xml=junit:3,1,2;/abs/empty=text:;",
			want: []fileSpec{
				{Path: "one", Kind: "random", Size: 50 << 20},
				{Path: "two/junit.xml", Kind: "junit", Passed: 3, Failed: 1, Skipped: 2},
				{Path: "/abs/empty", Kind: "text"},
			},
		},
		{name: "no equals", in: "out.txt", wantErr: "want PATH="},
		{name: "empty path", in: "=text:x", wantErr: "want PATH="},
		{name: "no kind", in: "out=hello", wantErr: "has no kind"},
		{name: "unknown kind", in: "out=zip:1", wantErr: `unknown kind "zip"`},
		{name: "bad random size", in: "out=random:lots", wantErr: "size"},
		{name: "junit two counts", in: "r.xml=junit:1,2", wantErr: "three counts"},
		{name: "junit negative", in: "r.xml=junit:1,-2,0", wantErr: "not a count"},
		{name: "bad escape", in: `out=text:a\qb`, wantErr: "unknown escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFiles(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFiles(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFiles(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseFiles(%q) =\n%+v\nwant\n%+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestResolvePath(t *testing.T) {
	tests := []struct{ path, dir, want string }{
		{"junit.xml", "/reports", "/reports/junit.xml"},
		{"sub/out.txt", "/tmp/r", "/tmp/r/sub/out.txt"},
		{"/abs/out.txt", "/reports", "/abs/out.txt"},
	}
	for _, tt := range tests {
		if got := resolvePath(tt.path, tt.dir); got != tt.want {
			t.Errorf("resolvePath(%q, %q) = %q, want %q", tt.path, tt.dir, got, tt.want)
		}
	}
}

func TestWriteJUnit(t *testing.T) {
	for _, c := range [][3]int{{0, 0, 0}, {3, 1, 2}, {0, 5, 0}} {
		var buf bytes.Buffer
		if err := writeJUnit(&buf, c[0], c[1], c[2]); err != nil {
			t.Fatal(err)
		}
		var doc junitTestsuites
		if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("%v: not valid XML: %v\n%s", c, err, buf.String())
		}
		if len(doc.Suites) != 1 {
			t.Fatalf("%v: %d testsuites, want 1", c, len(doc.Suites))
		}
		s := doc.Suites[0]
		var failures, skipped int
		for _, tc := range s.Cases {
			if tc.Failure != nil {
				failures++
				if tc.Failure.Message == "" {
					t.Errorf("%v: failure of %s has no message", c, tc.Name)
				}
			}
			if tc.Skipped != nil {
				skipped++
			}
		}
		total := c[0] + c[1] + c[2]
		if len(s.Cases) != total || s.Tests != total || doc.Tests != total {
			t.Errorf("%v: %d testcases, tests=%d/%d, want %d", c, len(s.Cases), s.Tests, doc.Tests, total)
		}
		if failures != c[1] || s.Failures != c[1] || skipped != c[2] || s.Skipped != c[2] {
			t.Errorf("%v: failures %d (attr %d), skipped %d (attr %d)", c, failures, s.Failures, skipped, s.Skipped)
		}
	}
}

func TestRandomReaderDeterministic(t *testing.T) {
	read := func(path string) []byte {
		b := make([]byte, 4096)
		if _, err := io.ReadFull(randomReader(path), b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !bytes.Equal(read("a.bin"), read("a.bin")) {
		t.Error("the same path gave different bytes")
	}
	if bytes.Equal(read("a.bin"), read("b.bin")) {
		t.Error("different paths gave the same bytes")
	}
}

// env returns a lookup function over m.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestRunSteps(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(nil, env(map[string]string{
		"TESTEE_PRINT":       "hello\nworld",
		"TESTEE_LINES":       "3",
		"TESTEE_STDERR":      "oops",
		"TESTEE_FILES":       `crlf.txt=text:a\r\nb;sub/r.bin=random:100Ki;sub/junit.xml=junit:2,1,0;` + filepath.Join(dir, "abs.txt") + "=text:x",
		"TESTEE_MEMORY":      "1Mi",
		"TESTEE_SLEEP":       "1ms",
		"TESTEE_EXIT":        "7",
		"TESTRUN_REPORT_DIR": dir,
	}), &stdout, &stderr, make(chan os.Signal))
	if code != 7 {
		t.Errorf("exit code %d, want 7 (stderr %q)", code, stderr.String())
	}
	if want := "hello\nworld\nline 1\nline 2\nline 3\nslept\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if stderr.String() != "oops\n" {
		t.Errorf("stderr %q, want %q", stderr.String(), "oops\n")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "crlf.txt")); err != nil || string(b) != "a\r\nb" {
		t.Errorf("crlf.txt = %q, %v; want %q", b, err, "a\r\nb")
	}
	if st, err := os.Stat(filepath.Join(dir, "sub/r.bin")); err != nil || st.Size() != 100<<10 {
		t.Errorf("sub/r.bin: %v, %v; want %d bytes", st, err, 100<<10)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sub/junit.xml")); err != nil || !bytes.Contains(b, []byte(`failures="1"`)) {
		t.Errorf("sub/junit.xml = %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "abs.txt")); err != nil || string(b) != "x" {
		t.Errorf("abs.txt = %q, %v", b, err)
	}
}

func TestRunSleepTerminated(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	var stdout, stderr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(nil, env(map[string]string{"TESTEE_SLEEP": "1h"}), &stdout, &stderr, sigs)
	}()
	sigs <- syscall.SIGTERM
	select {
	case code := <-done:
		if code != 143 {
			t.Errorf("exit code %d, want 143", code)
		}
		if stdout.String() != "terminated\n" {
			t.Errorf("stdout %q, want %q", stdout.String(), "terminated\n")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after SIGTERM")
	}
}

func TestRunArgsAndBadConfig(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "print", args: []string{"print", "hello", "world"}, env: map[string]string{"TESTEE_EXIT": "3"}, wantCode: 0, wantStdout: "hello world\n"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: "usage: testee"},
		{name: "no settings", wantCode: 0},
		{name: "bad exit", env: map[string]string{"TESTEE_EXIT": "300"}, wantCode: 2, wantStderr: "TESTEE_EXIT"},
		{name: "bad sleep", env: map[string]string{"TESTEE_SLEEP": "10", "TESTEE_PRINT": "x"}, wantCode: 2, wantStderr: "TESTEE_SLEEP"},
		{name: "bad lines", env: map[string]string{"TESTEE_LINES": "many"}, wantCode: 2, wantStderr: "TESTEE_LINES"},
		{name: "bad memory", env: map[string]string{"TESTEE_MEMORY": "lots"}, wantCode: 2, wantStderr: "TESTEE_MEMORY"},
		{name: "bad files", env: map[string]string{"TESTEE_FILES": "x=y"}, wantCode: 2, wantStderr: "TESTEE_FILES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, env(tt.env), &stdout, &stderr, make(chan os.Signal))
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) || (tt.wantStderr == "" && stderr.Len() > 0) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
