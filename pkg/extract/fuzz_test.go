package extract

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the FuzzExtract seed corpus in testdata/fuzz from the test builders")

// fuzzLimits are small so the fuzzer reaches every cap with small inputs.
var fuzzLimits = Limits{MaxTotalBytes: 8 << 10, MaxFileBytes: 4 << 10, MaxEntries: 16, MaxDepth: 8}

// fuzzSeeds are the committed seed corpus: a valid archive, every hostile
// case of TestExtractRefusesHostileArchives, and cases that hit fuzzLimits.
func fuzzSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{
		"valid": archive(t,
			dir("./"), dir("./reports/"), file("./reports/junit.xml", "<testsuites>\r\n</testsuites>\r\n"),
			file("bin/blob", "\x00\x01\xfe\xff"), file(strings.Repeat("p", 110)+".txt", "pax")),
		"limit-total-bytes": archive(t,
			file("a", strings.Repeat("a", 3000)), file("b", strings.Repeat("b", 3000)), file("c", strings.Repeat("c", 3000))),
		"limit-file-bytes": archive(t, file("big", strings.Repeat("x", 5000))),
		"limit-entries": func() []byte {
			var ents []ent
			for i := range 17 {
				ents = append(ents, dir(strconv.Itoa(i)+"/"))
			}
			return archive(t, ents...)
		}(),
		"limit-depth": archive(t, file("1/2/3/4/5/6/7/8/9", "deep")),
	}
	for _, tc := range hostileCases() {
		seeds["hostile-"+strings.NewReplacer(" ", "-", "/", "-").Replace(tc.name)] = tc.archive(t, "/tmp/outside")
	}
	return seeds
}

func marshalSeed(data []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n")
}

// TestFuzzSeedCorpus keeps the committed corpus in step with the builders;
// run it with -update-seeds after changing them.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzExtract")
	if *updateSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range fuzzSeeds(t) {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, "seed-"+name)
			if *updateSeeds {
				if err := os.WriteFile(p, marshalSeed(data), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("reading seed: %v: run go test ./pkg/extract -run TestFuzzSeedCorpus -update-seeds", err)
			}
			if !bytes.Equal(got, marshalSeed(data)) {
				t.Errorf("seed %q is out of date: run go test ./pkg/extract -run TestFuzzSeedCorpus -update-seeds", p)
			}
		})
	}
}

// FuzzExtract feeds arbitrary bytes to Extract. Whatever the input, nothing
// may appear outside the destination, the destination may hold only regular
// files and directories without special mode bits, and every reported file
// must be on disk with the reported size and digest.
func FuzzExtract(f *testing.F) {
	f.Add(archive(f, file("a", "a")))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The destination sits four levels down so that an escape of up
		// to four ".." still lands where the check below can see it.
		parent := t.TempDir()
		dest := filepath.Join(parent, "p1", "p2", "p3", "dest")
		files, err := Extract(bytes.NewReader(data), dest, fuzzLimits)

		modes := map[string]fs.FileMode{}
		if err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(parent, p)
			modes[filepath.ToSlash(rel)] = info.Mode()
			return err
		}); err != nil {
			t.Fatalf("walking %q: %v", parent, err)
		}

		var onDisk []string
		for p, mode := range modes {
			switch {
			case p == "." || p == "p1" || p == "p1/p2" || p == "p1/p2/p3" || p == "p1/p2/p3/dest":
				if !mode.IsDir() {
					t.Errorf("%q has mode %v, want a directory", p, mode)
				}
			case !strings.HasPrefix(p, "p1/p2/p3/dest/"):
				t.Errorf("Extract() created %q (mode %v) outside the destination; error = %v", p, mode, err)
			case mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0:
				t.Errorf("Extract() created %q with mode %v, want no setuid, setgid or sticky bit", p, mode)
			case mode.IsRegular():
				onDisk = append(onDisk, strings.TrimPrefix(p, "p1/p2/p3/dest/"))
			case !mode.IsDir():
				t.Errorf("Extract() created %q with mode %v, want only regular files and directories", p, mode)
			}
		}

		var reported []string
		for i, f := range files {
			if i > 0 && files[i-1].Path >= f.Path {
				t.Errorf("Extract() files not sorted and unique: %q before %q", files[i-1].Path, f.Path)
			}
			reported = append(reported, f.Path)
			b, rerr := os.ReadFile(filepath.Join(dest, filepath.FromSlash(f.Path)))
			if rerr != nil {
				t.Errorf("reported file %q cannot be read: %v", f.Path, rerr)
				continue
			}
			sum := sha256.Sum256(b)
			if int64(len(b)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
				t.Errorf("reported file %q: size %d digest %s, on disk size %d digest %x", f.Path, f.Size, f.SHA256, len(b), sum)
			}
		}
		// Every file on disk was reported, whether or not Extract failed: a
		// partly written file is removed, not left behind unreported.
		slices.Sort(onDisk)
		if !slices.Equal(onDisk, reported) {
			t.Errorf("regular files on disk %q, reported %q (error = %v)", onDisk, reported, err)
		}
		if err != nil && !strings.Contains(err.Error(), "incomplete") {
			t.Errorf("Extract() error = %q, want it to say the result is incomplete", err)
		}
	})
}
