package extract

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseManifest(t *testing.T) {
	h1, h2 := sha("one"), sha("two")
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr []string
	}{
		{
			name: "busybox with dot slash prefixes",
			in:   h1 + "  ./a/b.xml\n" + h2 + "  ./c\n",
			want: map[string]string{"a/b.xml": h1, "c": h2},
		},
		{
			name: "coreutils text and binary mode",
			in:   h1 + "  a\n" + h2 + " *bin/blob\n",
			want: map[string]string{"a": h1, "bin/blob": h2},
		},
		{
			name: "upper-case digest is normalised to lower case",
			in:   strings.ToUpper(h1) + "  a\n",
			want: map[string]string{"a": h1},
		},
		{
			name: "spaces in the path are kept",
			in:   h1 + "  ./my report  1.xml\n",
			want: map[string]string{"my report  1.xml": h1},
		},
		{
			name: "coreutils escaped name",
			in:   `\` + h1 + `  ./line\nbreak` + "\n",
			want: map[string]string{"line\nbreak": h1},
		},
		{
			name: "blank lines and no final newline",
			in:   "\n" + h1 + "  a\n\n" + h2 + "  b",
			want: map[string]string{"a": h1, "b": h2},
		},
		{
			name: "empty manifest",
			in:   "",
			want: map[string]string{},
		},
		{
			name:    "short digest",
			in:      h1 + "  a\n" + "abc123  b\n",
			wantErr: []string{"manifest line 2", "not in sha256sum format"},
		},
		{
			name:    "non-hex digest",
			in:      strings.Repeat("g", 64) + "  a\n",
			wantErr: []string{"manifest line 1", "not 64 hexadecimal digits"},
		},
		{
			name:    "one space only",
			in:      h1 + " a\n",
			wantErr: []string{"manifest line 1", "not in sha256sum format"},
		},
		{
			name:    "no path",
			in:      h1 + "  \n",
			wantErr: []string{"manifest line 1", "not in sha256sum format"},
		},
		{
			name:    "BSD tag format",
			in:      "SHA256 (a) = " + h1 + "\n",
			wantErr: []string{"manifest line 1", "not in sha256sum format"},
		},
		{
			name:    "absolute path",
			in:      h1 + "  /reports/a\n",
			wantErr: []string{"manifest line 1", `path "/reports/a"`, "absolute"},
		},
		{
			name:    "dot dot path",
			in:      h1 + "  a\n" + h2 + "  b\n" + h2 + "  ./../c\n",
			wantErr: []string{"manifest line 3", `".."`},
		},
		{
			name:    "the directory itself",
			in:      h1 + "  ./\n",
			wantErr: []string{"manifest line 1", "report directory itself"},
		},
		{
			name:    "duplicate path",
			in:      h1 + "  ./a\n" + h2 + "  a\n",
			wantErr: []string{"manifest line 2", `path "a" is listed twice`},
		},
		{
			name:    "bad escape",
			in:      `\` + h1 + `  a\tb` + "\n",
			wantErr: []string{"manifest line 1", "unknown escape"},
		},
		{
			name:    "line too long",
			in:      h1 + "  a\n" + h1 + "  " + strings.Repeat("x", maxManifestLine) + "\n",
			wantErr: []string{"manifest line 2", "longer than"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseManifest(strings.NewReader(tc.in))
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("ParseManifest() = %v, want an error containing %q", got, tc.wantErr)
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("ParseManifest() error = %q, want it to contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseManifest() error = %v, want none", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseManifest() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	a := File{Path: "a", Size: 1, SHA256: sha("a")}
	b := File{Path: "dir/b", Size: 1, SHA256: sha("b")}
	header := "the extracted files do not match the manifest "
	many := map[string]string{}
	for i := range 25 {
		many[fmt.Sprintf("m%02d", i)] = sha("m")
	}

	tests := []struct {
		name     string
		files    []File
		manifest map[string]string
		wantErr  string // the whole message; "" for success
	}{
		{
			name:     "match",
			files:    []File{a, b},
			manifest: map[string]string{"a": sha("a"), "dir/b": sha("b")},
		},
		{
			name:     "nothing on either side",
			files:    nil,
			manifest: map[string]string{},
		},
		{
			name:     "upper-case manifest digest matches",
			files:    []File{a},
			manifest: map[string]string{"a": strings.ToUpper(sha("a"))},
		},
		{
			name:     "digest mismatch",
			files:    []File{a, b},
			manifest: map[string]string{"a": sha("a"), "dir/b": sha("B")},
			wantErr: header + "(1 digest mismatch(es), 0 missing, 0 extra): the reports are incomplete or corrupt, do not trust them and fetch again" +
				"\n  \"dir/b\": digest mismatch: the manifest has " + sha("B") + ", the extracted file has " + sha("b"),
		},
		{
			name:     "missing",
			files:    []File{a},
			manifest: map[string]string{"a": sha("a"), "dir/b": sha("b")},
			wantErr: header + "(0 digest mismatch(es), 1 missing, 0 extra): the reports are incomplete or corrupt, do not trust them and fetch again" +
				"\n  \"dir/b\": missing: in the manifest but not in the archive",
		},
		{
			name:     "extra",
			files:    []File{a, b},
			manifest: map[string]string{"a": sha("a")},
			wantErr: header + "(0 digest mismatch(es), 0 missing, 1 extra): the reports are incomplete or corrupt, do not trust them and fetch again" +
				"\n  \"dir/b\": extra: in the archive but not in the manifest",
		},
		{
			name:     "every kind at once, in path order",
			files:    []File{b, {Path: "c", SHA256: sha("c")}},
			manifest: map[string]string{"a": sha("a"), "c": sha("x")},
			wantErr: header + "(1 digest mismatch(es), 1 missing, 1 extra): the reports are incomplete or corrupt, do not trust them and fetch again" +
				"\n  \"a\": missing: in the manifest but not in the archive" +
				"\n  \"c\": digest mismatch: the manifest has " + sha("x") + ", the extracted file has " + sha("c") +
				"\n  \"dir/b\": extra: in the archive but not in the manifest",
		},
		{
			name:     "long lists are cut",
			files:    nil,
			manifest: many,
			wantErr: header + "(0 digest mismatch(es), 25 missing, 0 extra): the reports are incomplete or corrupt, do not trust them and fetch again" +
				func() string {
					var s string
					for i := range 20 {
						s += fmt.Sprintf("\n  \"m%02d\": missing: in the manifest but not in the archive", i)
					}
					return s + "\n  ... and 5 more"
				}(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.files, tc.manifest)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, got); diff != "" {
				t.Errorf("Verify() error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
