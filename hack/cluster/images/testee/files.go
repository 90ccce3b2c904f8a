package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The files a testee writes: parsing TESTEE_FILES and writing each file.

// parseFiles parses TESTEE_FILES: entries PATH=SPEC separated by ';' (a ';' preceded by a backslash is
// part of the entry). Empty entries are skipped.
func parseFiles(s string) ([]fileSpec, error) {
	var specs []fileSpec
	for _, entry := range splitEntries(s) {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		f, err := parseFileEntry(entry)
		if err != nil {
			return nil, err
		}
		specs = append(specs, f)
	}
	return specs, nil
}

// splitEntries splits s at each ';' that is not escaped by a backslash, leaving escapes in place.
func splitEntries(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the escaped character
		case ';':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseFileEntry parses one PATH=SPEC entry of TESTEE_FILES.
func parseFileEntry(entry string) (fileSpec, error) {
	path, spec, ok := strings.Cut(entry, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return fileSpec{}, fmt.Errorf("entry %q: want PATH=text:CONTENT, PATH=random:SIZE or PATH=junit:PASSED,FAILED,SKIPPED", entry)
	}
	kind, arg, ok := strings.Cut(spec, ":")
	f := fileSpec{Path: path, Kind: strings.TrimSpace(kind)}
	if !ok {
		return fileSpec{}, fmt.Errorf("%s: spec %q has no kind: want text:CONTENT, random:SIZE or junit:PASSED,FAILED,SKIPPED", path, spec)
	}
	var err error
	switch f.Kind {
	case "text":
		f.Text, err = unescape(arg)
	case "random":
		f.Size, err = parseSize(strings.TrimSpace(arg))
	case "junit":
		f.Passed, f.Failed, f.Skipped, err = parseJUnitCounts(arg)
	default:
		err = fmt.Errorf("unknown kind %q: want text, random or junit", f.Kind)
	}
	if err != nil {
		return fileSpec{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// unescape turns the escapes \n, \r, \t, \\ and \; of s into the characters they stand for.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", errors.New(`text ends in a lone backslash: write \\ for a backslash`)
		}
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\\':
			b.WriteByte('\\')
		case ';':
			b.WriteByte(';')
		default:
			return "", fmt.Errorf(`unknown escape \%c in text: use \n, \r, \t, \\ or \;`, s[i])
		}
	}
	return b.String(), nil
}

// parseSize parses a byte count: a plain number, or a whole number with one of the suffixes Ki, Mi, Gi, Ti
// (powers of 1024) or k, K, M, G, T (powers of 1000).
func parseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, sf := range sizeSuffixes {
		if strings.HasSuffix(s, sf.suffix) {
			num, mult = strings.TrimSuffix(s, sf.suffix), sf.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || num == "" || num[0] == '+' {
		return 0, fmt.Errorf("size %q: want a whole number of bytes, optionally with a suffix such as Mi (e.g. 200Mi, 1G, 4096)", s)
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// resolvePath places a relative path under reportDir.
func resolvePath(path, reportDir string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(reportDir, path)
}

// writeFile writes one TESTEE_FILES entry, making its parent directories.
func writeFile(f fileSpec, reportDir string) (err error) {
	path := resolvePath(f.Path, reportDir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("making the directory of %s: %w", path, err)
	}
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing %s: %w", path, cerr)
		}
	}()
	switch f.Kind {
	case "text":
		_, err = io.WriteString(out, f.Text)
	case "random":
		_, err = io.CopyN(out, randomReader(f.Path), f.Size)
	case "junit":
		err = writeJUnit(out, f.Passed, f.Failed, f.Skipped)
	default:
		err = fmt.Errorf("unknown kind %q", f.Kind)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// randomReader returns an endless stream of pseudo-random bytes that depends only on path: ChaCha8 seeded
// with the SHA-256 of path.
func randomReader(path string) io.Reader {
	return rand.NewChaCha8(sha256.Sum256([]byte(path)))
}

// allocate returns n bytes of memory with every page written, so that all of it is resident.
func allocate(n int64) []byte {
	b := make([]byte, n)
	for i := int64(0); i < n; i += 4096 {
		b[i] = 1
	}
	return b
}
