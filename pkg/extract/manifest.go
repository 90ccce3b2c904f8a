package extract

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// maxManifestLine bounds one manifest line: a digest, two separator bytes and
// a path of up to PATH_MAX (4096) bytes, with room for coreutils escapes.
const maxManifestLine = 16 << 10

// maxListedProblems is how many mismatches a Verify error spells out; the
// rest are counted.
const maxListedProblems = 20

// ParseManifest parses `sha256sum` output into a map from path to digest.
//
// It reads busybox and coreutils output: "<64 hex>  <path>" per line, or
// "<64 hex> *<path>" for coreutils' binary mode; paths may start with "./".
// A malformed line is an error that gives its line number.
//
// Paths are normalised and checked exactly like archive entry names in
// [Extract] ("./a/b" becomes "a/b"; absolute paths and ".." are refused), so
// the keys compare equal to [File.Path]. Digests are accepted in either case
// (hex is case-insensitive; sha256sum itself writes lower case) and returned
// in lower case. Empty lines are skipped; a path listed twice is an error.
// Coreutils escapes a path that contains a backslash, newline or carriage
// return and marks the line with a leading "\"; such lines are unescaped. The
// caller bounds the size of r.
func ParseManifest(r io.Reader) (map[string]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxManifestLine)
	m := make(map[string]string)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" {
			continue
		}
		p, sum, err := parseManifestLine(text)
		if err != nil {
			return nil, fmt.Errorf("manifest line %d: %w", line, err)
		}
		if _, dup := m[p]; dup {
			return nil, fmt.Errorf("manifest line %d: path %q is listed twice: the manifest is corrupt, fetch again", line, p)
		}
		m[p] = sum
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("manifest line %d: longer than %d bytes: the manifest is corrupt, fetch again: %w", line+1, maxManifestLine, err)
		}
		return nil, fmt.Errorf("reading the manifest after line %d: %w", line, err)
	}
	return m, nil
}

// parseManifestLine splits one non-empty sha256sum line into its cleaned path
// and lower-case digest.
func parseManifestLine(text string) (string, string, error) {
	const hexLen = 64
	escaped := strings.HasPrefix(text, `\`)
	if escaped {
		text = text[1:]
	}
	if len(text) < hexLen+3 || text[hexLen] != ' ' || (text[hexLen+1] != ' ' && text[hexLen+1] != '*') {
		return "", "", fmt.Errorf("%q is not in sha256sum format: want \"<64 hex digits>  <path>\" or \"<64 hex digits> *<path>\"", abbreviate(text))
	}
	sum := strings.ToLower(text[:hexLen])
	for i := range len(sum) {
		if c := sum[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", "", fmt.Errorf("digest %q is not 64 hexadecimal digits", sum)
		}
	}
	p := text[hexLen+2:]
	if escaped {
		var err error
		if p, err = unescapePath(p); err != nil {
			return "", "", err
		}
	}
	clean, err := cleanName(p, math.MaxInt)
	if err != nil {
		return "", "", fmt.Errorf("path %q: %w", p, err)
	}
	if clean == "." {
		return "", "", fmt.Errorf("path %q names the report directory itself, not a file", p)
	}
	return clean, sum, nil
}

// unescapePath undoes coreutils' escaping of "\\", "\n" and "\r" in names.
func unescapePath(p string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '\\' {
			b.WriteByte(p[i])
			continue
		}
		i++
		if i == len(p) {
			return "", fmt.Errorf("escaped path %q ends with a lone backslash", p)
		}
		switch p[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", fmt.Errorf("escaped path %q has an unknown escape \"\\%c\"", p, p[i])
		}
	}
	return b.String(), nil
}

// abbreviate shortens a malformed line for an error message.
func abbreviate(s string) string {
	const limit = 100
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

// Verify checks that files and manifest describe exactly the same set of
// paths with the same digests.
//
// Paths are compared exactly (use [ParseManifest] to build the manifest) and
// digests case-insensitively. The error lists the first 20 problems in path
// order, one per line, and counts the rest.
func Verify(files []File, manifest map[string]string) error {
	type problem struct{ path, text string }
	var problems []problem
	var mismatched, missing, extra int

	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if seen[f.Path] {
			problems = append(problems, problem{f.Path, "extracted twice"})
			continue
		}
		seen[f.Path] = true
		want, ok := manifest[f.Path]
		switch {
		case !ok:
			extra++
			problems = append(problems, problem{f.Path, "extra: in the archive but not in the manifest"})
		case !strings.EqualFold(want, f.SHA256):
			mismatched++
			problems = append(problems, problem{f.Path, fmt.Sprintf("digest mismatch: the manifest has %s, the extracted file has %s", want, f.SHA256)})
		}
	}
	for p := range manifest {
		if !seen[p] {
			missing++
			problems = append(problems, problem{p, "missing: in the manifest but not in the archive"})
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.SortFunc(problems, func(a, b problem) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		return strings.Compare(a.text, b.text)
	})

	var b strings.Builder
	fmt.Fprintf(&b, "the extracted files do not match the manifest (%d digest mismatch(es), %d missing, %d extra): the reports are incomplete or corrupt, do not trust them and fetch again",
		mismatched, missing, extra)
	for i, p := range problems {
		if i == maxListedProblems {
			fmt.Fprintf(&b, "\n  ... and %d more", len(problems)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %q: %s", p.path, p.text)
	}
	return errors.New(b.String())
}
