package input

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// endless is a reader that never ends, like /dev/zero; it counts what was read from it.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	e.read += int64(len(p))
	return len(p), nil
}

func TestReadStopsOneBytePastTheCap(t *testing.T) {
	src := &endless{}
	_, err := Read(src, "/dev/zero", 1000)
	var tooLarge *TooLargeError
	if !errors.As(err, &tooLarge) {
		t.Fatalf("Read of an endless source returned %v, want a *TooLargeError", err)
	}
	if diff := cmp.Diff(TooLargeError{Name: "/dev/zero", Max: 1000}, *tooLarge); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	// io.ReadAll asks for 512 bytes at a time at first; the LimitReader cuts that at max+1.
	if src.read > 1001+512 {
		t.Errorf("read %d bytes from an endless source with a cap of 1000: the reader must stop at the cap", src.read)
	}
}

func TestReadWithinTheCap(t *testing.T) {
	for _, size := range []int{0, 1, 999, 1000} {
		data, err := Read(strings.NewReader(strings.Repeat("x", size)), "f", 1000)
		if err != nil || len(data) != size {
			t.Errorf("Read of %d bytes with a cap of 1000 = %d bytes, %v; want all of them", size, len(data), err)
		}
	}
	if _, err := Read(strings.NewReader(strings.Repeat("x", 1001)), "f", 1000); err == nil {
		t.Errorf("Read of 1001 bytes with a cap of 1000 succeeded, want an error")
	}
}

func TestReadPathOnAFIFOFedForever(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "def.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		_, _ = io.Copy(w, &endless{}) // ends when the reader closes the FIFO
	}()
	_, err := ReadPath(fifo, 1<<16)
	var tooLarge *TooLargeError
	if !errors.As(err, &tooLarge) {
		t.Fatalf("ReadPath of a FIFO fed forever returned %v, want a *TooLargeError", err)
	}
}

func TestReadPathRefusesADirectory(t *testing.T) {
	if _, err := ReadPath(t.TempDir(), 10); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("ReadPath of a directory = %v, want an error saying it is a directory", err)
	}
}

func TestReadFSRefusesWhatIsNotARegularFile(t *testing.T) {
	fsys := fstest.MapFS{
		"ok.yaml":   {Data: []byte("a: b")},
		"fifo.yaml": {Mode: os.ModeNamedPipe},
		"big.yaml":  {Data: []byte(strings.Repeat("x", 11))},
	}
	if data, err := ReadFS(fsys, "ok.yaml", ".testrun/ok.yaml", 10); err != nil || string(data) != "a: b" {
		t.Errorf("ReadFS(ok.yaml) = %q, %v", data, err)
	}
	if _, err := ReadFS(fsys, "fifo.yaml", ".testrun/fifo.yaml", 10); err == nil || !strings.Contains(err.Error(), `".testrun/fifo.yaml" is not a regular file`) {
		t.Errorf("ReadFS of a FIFO = %v, want it refused as not a regular file", err)
	}
	var tooLarge *TooLargeError
	if _, err := ReadFS(fsys, "big.yaml", ".testrun/big.yaml", 10); !errors.As(err, &tooLarge) || tooLarge.Name != ".testrun/big.yaml" {
		t.Errorf("ReadFS of a file over the cap = %v, want a *TooLargeError naming .testrun/big.yaml", err)
	}
}

func TestCheckAliases(t *testing.T) {
	big := strings.Repeat("x", 1000)
	tests := []struct {
		name string
		doc  string
		max  int64
		want error
	}{
		{name: "no alias", doc: "a: " + big, max: 2000},
		{name: "a few small aliases", doc: "a: &x [1, 2]\nb: *x\nc: *x\n", max: 100},
		{
			name: "a large scalar referenced many times",
			doc:  "a: &x " + big + "\nb: [" + strings.TrimSuffix(strings.Repeat("*x, ", 20), ", ") + "]\n",
			max:  10000,
			want: &AliasBombError{Max: 10000},
		},
		{
			name: "billion laughs",
			doc: `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`,
			max:  MaxExpandedBytes,
			want: &AliasBombError{Max: MaxExpandedBytes},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			err := CheckAliases(&doc, tt.max)
			if diff := cmp.Diff(errString(tt.want), errString(err)); diff != "" {
				t.Errorf("CheckAliases (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckAliasesOfAnAliasInsideItsAnchor(t *testing.T) {
	// The parser accepts this; decoding it fails, and measuring it must neither loop nor overflow the stack.
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: &x [1, *x]\n"), &doc); err != nil {
		t.Fatalf("the YAML parser refused the document: %v", err)
	}
	if err := CheckAliases(&doc, 1000); !errors.Is(err, ErrAliasLoop) {
		t.Errorf("CheckAliases = %v, want ErrAliasLoop", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
