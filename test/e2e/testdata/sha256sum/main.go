// Command sha256sum prints "<sha256>  <mode>  <path>" for each path it is given ("-" for the digest of a
// directory), in the order given, and
// exits 1 on the first it cannot read. The upload tests build it statically and upload it into an image
// that has no shell and no tools of its own, to read the files uploaded beside it.
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
)

func main() {
	for _, p := range os.Args[1:] {
		if err := sum(p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func sum(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		fmt.Printf("-  %o  %s\n", fi.Mode().Perm(), p)
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	fmt.Printf("%x  %o  %s\n", h.Sum(nil), fi.Mode().Perm(), p)
	return nil
}
