package flow

import (
	"path/filepath"
	"strings"
)

// gitHead returns the commit and the branch (or tag) checked out in the git working tree that holds dir,
// read from its files, for TM_GIT_SHA and TM_GIT_REF: a detached checkout has no ref. Outside a working tree
// (or when its files cannot be read) both are "local", what TestMachinery gives a local location.
func gitHead(dir string, readFile func(string) ([]byte, error)) (sha, ref string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return tmLocationGitLocal, tmLocationGitLocal
	}
	gitDir := ""
	for d := abs; ; d = filepath.Dir(d) {
		dotGit := filepath.Join(d, ".git")
		if data, err := readFile(filepath.Join(dotGit, "HEAD")); err == nil && len(data) > 0 {
			gitDir = dotGit
			break
		}
		// A linked worktree or a submodule has a .git file: "gitdir: <path>".
		if data, err := readFile(dotGit); err == nil {
			if p, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir: "); ok {
				if !filepath.IsAbs(p) {
					p = filepath.Join(d, p)
				}
				gitDir = p
				break
			}
		}
		if filepath.Dir(d) == d {
			return tmLocationGitLocal, tmLocationGitLocal
		}
	}
	head, err := readFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return tmLocationGitLocal, tmLocationGitLocal
	}
	name, symbolic := strings.CutPrefix(strings.TrimSpace(string(head)), "ref: ")
	if !symbolic {
		return name, ""
	}
	common := gitDir
	if data, err := readFile(filepath.Join(gitDir, "commondir")); err == nil {
		if c := strings.TrimSpace(string(data)); filepath.IsAbs(c) {
			common = c
		} else {
			common = filepath.Join(gitDir, c)
		}
	}
	short := strings.TrimPrefix(strings.TrimPrefix(name, "refs/heads/"), "refs/tags/")
	for _, d := range []string{gitDir, common} {
		if data, err := readFile(filepath.Join(d, filepath.FromSlash(name))); err == nil {
			return strings.TrimSpace(string(data)), short
		}
	}
	if data, err := readFile(filepath.Join(common, "packed-refs")); err == nil {
		for line := range strings.Lines(string(data)) {
			if s, r, ok := strings.Cut(strings.TrimSpace(line), " "); ok && r == name {
				return s, short
			}
		}
	}
	// A branch without a commit yet.
	return "", short
}
