// Command pack turns a directory into a single-layer container image and writes it as a docker-archive
// tarball that `ctr images import` (or `docker load`) accepts, so the local test cluster can run images
// without any registry.
//
// Usage:
//
//	go run . -dir DIR -name NAME -out FILE.tar [-entrypoint /path[,arg...]] [-cmd arg[,arg...]]
//	         [-user UID:GID] [-env K=V]... [-arch GOARCH]
//
// The layer holds every directory, regular file (with its permission bits, including setuid, setgid and
// sticky) and symbolic link (kept as a link) under DIR, owned by root (0:0), with a fixed modification
// time, in lexical order, so the same DIR always gives the same image digest. Other file types (devices,
// sockets, pipes) are rejected.
//
// NAME must carry an explicit tag other than "latest": Kubernetes pulls ":latest" and untagged images
// always (imagePullPolicy defaults to Always), which fails on a cluster with no registry.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Epoch is the modification time of every entry in the layer and the image's creation time. A fixed
// time keeps the image digest the same from one build to the next.
var Epoch = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// DefaultPath is the PATH the image's environment gets unless an -env PATH=... overrides it; container
// runtimes resolve a command without a slash (such as "sh") against it.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options are the settings of one image build.
type Options struct {
	Dir        string   // root directory of the image's filesystem
	Name       string   // image reference, with an explicit tag
	Out        string   // docker-archive tarball to write
	Arch       string   // GOARCH-style architecture of the image
	Entrypoint []string // image entrypoint, empty for none
	Cmd        []string // image default arguments, empty for none
	User       string   // user (UID, UID:GID or a name) the image runs as, empty for root
	Env        []string // K=V entries added to the image environment
}

// listFlag collects a flag given several times, such as -env.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("%q is not of the form KEY=VALUE", v)
	}
	*l = append(*l, v)
	return nil
}

func main() {
	var o Options
	var entrypoint, cmd string
	var env listFlag
	flags := flag.NewFlagSet("pack", flag.ContinueOnError)
	flags.StringVar(&o.Dir, "dir", "", "directory to pack as the image's root filesystem (required)")
	flags.StringVar(&o.Name, "name", "", "image name with an explicit tag other than latest, e.g. testrun.local/app:v1 (required)")
	flags.StringVar(&o.Out, "out", "", "docker-archive tarball to write (required)")
	flags.StringVar(&o.Arch, "arch", runtime.GOARCH, "image architecture (GOARCH names); the OS is always linux")
	flags.StringVar(&entrypoint, "entrypoint", "", "entrypoint: the program path, optionally followed by comma-separated arguments")
	flags.StringVar(&cmd, "cmd", "", "default arguments (CMD), comma-separated")
	flags.StringVar(&o.User, "user", "", "user the image runs as, e.g. 65532:65532 (default root)")
	flags.Var(&env, "env", "environment variable KEY=VALUE; repeat for more")
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "usage: pack -dir DIR -name NAME -out FILE.tar [flags]\n\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "pack: unexpected arguments %q\n", flags.Args())
		flags.Usage()
		os.Exit(2)
	}
	o.Entrypoint = splitList(entrypoint)
	o.Cmd = splitList(cmd)
	o.Env = env
	if err := Pack(o); err != nil {
		fmt.Fprintf(os.Stderr, "pack: %v\n", err)
		os.Exit(1)
	}
}

// splitList splits a comma-separated flag value; an empty value gives nil.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Pack builds the image described by o and writes it to o.Out.
func Pack(o Options) error {
	if o.Dir == "" || o.Name == "" || o.Out == "" {
		return errors.New("-dir, -name and -out are required")
	}
	tag, err := ParseName(o.Name)
	if err != nil {
		return err
	}
	if st, err := os.Stat(o.Dir); err != nil {
		return fmt.Errorf("image root directory: %w", err)
	} else if !st.IsDir() {
		return fmt.Errorf("image root %s is not a directory", o.Dir)
	}

	var buf bytes.Buffer
	if err := WriteLayer(&buf, o.Dir); err != nil {
		return err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompressedCaching)
	if err != nil {
		return fmt.Errorf("making the layer: %w", err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: Epoch},
			CreatedBy: "kubectl-testrun hack/cluster/image: pack",
		},
	})
	if err != nil {
		return fmt.Errorf("adding the layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading the image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = o.Arch
	cf.Created = v1.Time{Time: Epoch}
	cf.Config.Entrypoint = o.Entrypoint
	cf.Config.Cmd = o.Cmd
	cf.Config.User = o.User
	cf.Config.Env = MergeEnv([]string{DefaultPath}, o.Env)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return fmt.Errorf("setting the image config: %w", err)
	}

	// Write next to the target and rename, so an interrupted run never leaves a truncated archive.
	tmp := o.Out + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", o.Out, err)
	}
	if err := os.Rename(tmp, o.Out); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// ParseName checks that s is an image reference with an explicit tag that is not "latest" and returns it
// as a tag. The tag keeps s as written (for example docker.io/library/busybox:1.37), which is the name
// the archive's manifest records.
func ParseName(s string) (name.Tag, error) {
	if strings.Contains(s, "@") {
		return name.Tag{}, fmt.Errorf("image name %q has a digest: give a name:tag instead", s)
	}
	last := s[strings.LastIndex(s, "/")+1:]
	if !strings.Contains(last, ":") {
		return name.Tag{}, fmt.Errorf("image name %q has no tag: add one such as :v1 (without a tag Kubernetes uses :latest, "+
			"pulls it always, and the pull fails on a cluster with no registry)", s)
	}
	tag, err := name.NewTag(s)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image name %q: %w", s, err)
	}
	if tag.TagStr() == "latest" {
		return name.Tag{}, fmt.Errorf("image name %q uses the tag latest: use another tag such as :v1 (for :latest "+
			"imagePullPolicy defaults to Always and the pull fails on a cluster with no registry)", s)
	}
	return tag, nil
}

// MergeEnv returns base with each K=V of extra added, an entry of extra replacing the one of base with
// the same key.
func MergeEnv(base, extra []string) []string {
	out := append([]string(nil), base...)
	for _, e := range extra {
		key, _, _ := strings.Cut(e, "=")
		replaced := false
		for i, b := range out {
			if k, _, _ := strings.Cut(b, "="); k == key {
				out[i], replaced = e, true
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return out
}

// WriteLayer writes an uncompressed layer tar of everything under dir to w: directories, regular files
// with their permission bits, and symbolic links as links, all owned by 0:0 with the Epoch as their time.
func WriteLayer(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Name:    filepath.ToSlash(rel),
			Mode:    tarMode(info.Mode()),
			ModTime: Epoch,
			Uname:   "root",
			Gname:   "root",
			Format:  tar.FormatUSTAR,
		}
		if len(hdr.Name) > 100 {
			hdr.Format = tar.FormatPAX // long names need PAX records
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case mode.IsRegular():
			hdr.Typeflag = tar.TypeReg
			hdr.Size = info.Size()
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = target
			if len(target) > 100 {
				hdr.Format = tar.FormatPAX
			}
		default:
			return fmt.Errorf("%s: unsupported file type %v (only directories, regular files and symlinks can be packed)", path, mode.Type())
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if n, err := io.Copy(tw, f); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		} else if n != hdr.Size {
			return fmt.Errorf("%s: changed size while being packed", path)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("packing %s: %w", dir, err)
	}
	return tw.Close()
}

// tarMode converts a Go file mode to the permission and special bits of a tar header.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}
