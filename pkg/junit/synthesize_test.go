package junit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-testrun/kubectl-testrun/internal/testkit"
)

// synthesized is the part of a synthesized report the tests read back with
// encoding/xml, which is stricter than go-junit.
type synthesized struct {
	Suite struct {
		Name string `xml:"name,attr"`
		Case []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Failure   struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// parseSynthesized decodes doc strictly and checks it has the one suite and
// case Synthesize promises.
func parseSynthesized(t *testing.T, doc []byte) (name, message, text string) {
	t.Helper()
	var got synthesized
	if err := xml.Unmarshal(doc, &got); err != nil {
		t.Fatalf("encoding/xml cannot parse the synthesized report: %v\n%s", err, doc)
	}
	if got.Suite.Name != synthesizedSuite || len(got.Suite.Case) != 1 || got.Suite.Case[0].Classname != synthesizedSuite {
		t.Fatalf("synthesized report has suite %q with %d cases, want suite %q with one case of that class:\n%s",
			got.Suite.Name, len(got.Suite.Case), synthesizedSuite, doc)
	}
	c := got.Suite.Case[0]
	return c.Name, c.Failure.Message, c.Failure.Text
}

func TestSynthesizeGolden(t *testing.T) {
	var b bytes.Buffer
	err := Synthesize(&b, "integration-4fz9q",
		`image "registry.example/app-tests:1.2" cannot be pulled (ErrImagePull)`,
		"Events:\n  Warning  Failed  12s  kubelet  Failed to pull image \"registry.example/app-tests:1.2\": not found\n")
	if err != nil {
		t.Fatalf("Synthesize: %v", err)
	}
	testkit.Golden(t, filepath.Join("testdata", "synthesize.golden"), b.Bytes())
}

func TestSynthesizeRoundTrip(t *testing.T) {
	tests := []struct {
		name, runName, reason, detail string
		want                          Case
	}{
		{
			name:    "image pull",
			runName: "unit-x7k2p", reason: "image cannot be pulled (ErrImagePull)", detail: "Back-off pulling image",
			want: Case{Suite: synthesizedSuite, Name: "unit-x7k2p", Message: "image cannot be pulled (ErrImagePull)"},
		},
		{
			name:    "multi-line reason keeps its lines and tabs",
			runName: "e2e-9qz1", reason: "timed out after 10m0s\n\tlast phase: Running \"tests\"", detail: "",
			want: Case{Suite: synthesizedSuite, Name: "e2e-9qz1", Message: "timed out after 10m0s\n\tlast phase: Running \"tests\""},
		},
		{
			name:    "blank name",
			runName: " \x00 ", reason: "cancelled (SIGINT)", detail: "",
			want: Case{Suite: synthesizedSuite, Name: synthesizedSuite, Message: "cancelled (SIGINT)"},
		},
		{
			name:    "blank reason takes the detail's first line",
			runName: "unit-x7k2p", reason: "", detail: "\n  OOMKilled: exit code 137\nmore",
			want: Case{Suite: synthesizedSuite, Name: "unit-x7k2p", Message: "OOMKilled: exit code 137"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var b bytes.Buffer
			if err := Synthesize(&b, tt.runName, tt.reason, tt.detail); err != nil {
				t.Fatalf("Synthesize: %v", err)
			}
			testkit.WriteFiles(t, dir, map[string]string{"junit.xml": b.String()})
			files := mustFind(t, dir)
			if diff := cmp.Diff([]string{"junit.xml"}, files); diff != "" {
				t.Fatalf("Find does not see the synthesized report (-want +got):\n%s", diff)
			}
			got, err := Summarize(dir, files)
			if err != nil {
				t.Fatalf("Summarize of the synthesized report: %v\n%s", err, b.String())
			}
			want := Summary{Files: []string{"junit.xml"}, Tests: 1, Failures: 1, Failed: []Case{tt.want}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Summarize of the synthesized report (-want +got):\n%s\n%s", diff, b.String())
			}
		})
	}
}

func TestSynthesizeHostileText(t *testing.T) {
	const (
		name   = "run\x1b[31m-<&>\x00"
		reason = "exit 1: \x1b[31mred\x1b[0m \"quoted\" ]]> <&>\x00\x08\x0b\x0c\x1b\r\n\tnext"
		detail = "\x1b[31mFAIL\x1b[0m got <&> want ]]>\x00 <![CDATA[x]]> &amp; \x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x1f\x7f" +
			"\r\ncrlf line\ttab\n\xff\xfe invalid utf-8 \ufffe\uffff end"
	)
	var b bytes.Buffer
	if err := Synthesize(&b, name, reason, detail); err != nil {
		t.Fatalf("Synthesize: %v", err)
	}
	gotName, gotMessage, gotText := parseSynthesized(t, b.Bytes())
	want := []string{
		"run-<&>",
		"exit 1: red \"quoted\" ]]> <&>\r\n\tnext",
		// DEL (\x7f) is allowed in XML 1.0 and kept; a run of invalid bytes
		// becomes one U+FFFD.
		"FAIL got <&> want ]]> <![CDATA[x]]> &amp; \x7f\r\ncrlf line\ttab\n\ufffd invalid utf-8  end",
	}
	if diff := cmp.Diff(want, []string{gotName, gotMessage, gotText}); diff != "" {
		t.Errorf("name, message and text read back with encoding/xml (-want +got):\n%s\n%s", diff, b.String())
	}
	for _, forbidden := range []string{"\x00", "\x1b", "\x08", "]]>", "<&>"} {
		if bytes.Contains(b.Bytes(), []byte(forbidden)) {
			t.Errorf("synthesized report holds %q unescaped:\n%s", forbidden, b.String())
		}
	}

	// go-junit must read the same text as encoding/xml.
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"junit.xml": b.String()})
	got, err := Summarize(dir, []string{"junit.xml"})
	if err != nil {
		t.Fatalf("Summarize: %v", err)
	}
	wantCase := []Case{{Suite: synthesizedSuite, Name: want[0], Message: want[1]}}
	if diff := cmp.Diff(wantCase, got.Failed); diff != "" {
		t.Errorf("Summarize of the hostile report (-want +got):\n%s", diff)
	}
}

// failingWriter fails every write, as a full disk does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

func TestSynthesizeWriteError(t *testing.T) {
	err := Synthesize(failingWriter{}, "unit-x7k2p", "crashed", "")
	if err == nil || !strings.Contains(err.Error(), `"unit-x7k2p"`) || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("Synthesize to a failing writer: error = %v, want one naming the run and the cause", err)
	}
}

func FuzzSynthesize(f *testing.F) {
	f.Add("unit-x7k2p", "image cannot be pulled", "Back-off pulling image")
	f.Add("", "", "")
	f.Add("run\x00", "\x1b[31m]]>\r\n", "<![CDATA[\xff]]>&#x0;&bogus;")
	f.Fuzz(func(t *testing.T, name, reason, detail string) {
		var b bytes.Buffer
		if err := Synthesize(&b, name, reason, detail); err != nil {
			t.Fatalf("Synthesize: %v", err)
		}
		_, gotMessage, gotText := parseSynthesized(t, b.Bytes())
		if want := xmlChars(reason); gotMessage != want {
			t.Errorf("message read back = %q, want %q", gotMessage, want)
		}
		if want := xmlChars(detail); gotText != want {
			t.Errorf("text read back = %q, want %q", gotText, want)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "junit.xml"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Summarize(dir, []string{"junit.xml"})
		if err != nil {
			t.Fatalf("Summarize: %v\n%s", err, b.String())
		}
		if got.Tests != 1 || got.Failures != 1 || got.Errors != 0 || len(got.Failed) != 1 {
			t.Fatalf("Summarize = %+v, want 1 test and 1 failure", got)
		}
		want := xmlChars(reason)
		if strings.TrimSpace(want) == "" {
			want = firstLine(xmlChars(detail))
		}
		if got.Failed[0].Message != want {
			t.Errorf("go-junit reads the message as %q, want %q", got.Failed[0].Message, want)
		}
	})
}
