// Package source owns getting code: the git CLI (mirrors, fetches, checkouts of an exact commit), remote heads
// for polling, and webhook parsing with signature checks. Every git call passes user input as separate
// arguments after validation, never through a shell.
package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var commitRE = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// ValidCommit reports whether s looks like a (possibly abbreviated) commit id.
func ValidCommit(s string) bool { return commitRE.MatchString(s) }

// ValidateBranch checks a branch name the way git does, and refuses names that could be read as options.
func ValidateBranch(ctx context.Context, branch string) error {
	// "@{-1}" and friends name the previous checkout of whatever repository git finds; not a branch.
	if branch == "" || strings.HasPrefix(branch, "-") || strings.Contains(branch, "@{") {
		return fmt.Errorf("invalid branch name %q", branch)
	}
	if _, err := run(ctx, "/", "check-ref-format", "--branch", branch); err != nil {
		return fmt.Errorf("invalid branch name %q", branch)
	}
	return nil
}

// ValidateRepo refuses repository URLs git could read as an option or as a command to run.
func ValidateRepo(url string) error {
	switch {
	case url == "":
		return errors.New("repository URL is empty")
	case strings.HasPrefix(url, "-"):
		return fmt.Errorf("invalid repository URL %q", url)
	case remoteHelperRE.MatchString(url):
		return fmt.Errorf("repository URL %q uses a remote helper (TRANSPORT::ADDRESS), which ferry does not allow", url)
	}
	return nil
}

// remoteHelperRE matches git's TRANSPORT::ADDRESS syntax (ext::sh -c ..., fd::0), not an IPv6 host in a URL.
var remoteHelperRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+.-]*::`)

// run runs git with args in dir and returns its standard output.
func run(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return runEnv(ctx, dir, nil, args...)
}

// runEnv is run with env added to git's environment. Errors quote git's message with the user information
// of any URL in it redacted.
func runEnv(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	// Never wait for a password prompt, and ignore the user's and system's git config hooks into this process.
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true", "SSH_ASKPASS=true",
		"GIT_SSH_COMMAND=ssh -o BatchMode=yes", "LC_ALL=C")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return stdout.Bytes(), fmt.Errorf("git %s: %s", args[0], Redact(msg))
	}
	return stdout.Bytes(), nil
}

// RemoteHead returns the commit the branch points to in the remote repository.
func RemoteHead(ctx context.Context, url, branch string) (string, error) {
	return (&Mirror{URL: url, Branch: branch}).RemoteHead(ctx)
}

// Mirror is a bare copy of a project's repository that runs check out from.
type Mirror struct {
	Dir    string
	URL    string
	Branch string
	// Cred, when set, authenticates to the repository (over http or https); credentials written in URL are
	// used otherwise. Either way they never reach git's command line.
	Cred Credentials
}

// Fetch brings the mirror's branch up to date with the remote, creating the mirror on first use.
func (m *Mirror) Fetch(ctx context.Context) error {
	if err := ValidateRepo(m.URL); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "HEAD")); err != nil {
		if err := os.MkdirAll(m.Dir, 0o700); err != nil {
			return fmt.Errorf("create mirror: %w", err)
		}
		if _, err := run(ctx, m.Dir, "init", "--quiet", "--bare"); err != nil {
			return err
		}
	}
	remote, env, err := m.remote()
	if err != nil {
		return err
	}
	ref := "refs/heads/" + m.Branch
	_, err = runEnv(ctx, m.Dir, env, "fetch", "--quiet", "--no-tags", "--force", "--", remote, "+"+ref+":"+ref)
	return err
}

// Resolve returns the full commit id of rev (a commit id or the mirror's branch).
func (m *Mirror) Resolve(ctx context.Context, rev string) (string, error) {
	if rev == "" {
		rev = "refs/heads/" + m.Branch
	} else if !ValidCommit(rev) {
		return "", fmt.Errorf("invalid commit %q", rev)
	}
	out, err := run(ctx, m.Dir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("commit %s not found in %s", rev, Redact(m.URL))
	}
	return strings.TrimSpace(string(out)), nil
}

// IsAncestor reports whether commit a is an ancestor of (or equal to) commit b.
func (m *Mirror) IsAncestor(ctx context.Context, a, b string) bool {
	if !ValidCommit(a) || !ValidCommit(b) {
		return false
	}
	_, err := run(ctx, m.Dir, "merge-base", "--is-ancestor", a, b)
	return err == nil
}

// Commit describes a commit for a release.
type Commit struct {
	ID      string
	Author  string
	Time    time.Time
	Message string
}

// Describe reads a commit's author, time and message.
func (m *Mirror) Describe(ctx context.Context, commit string) (*Commit, error) {
	if !ValidCommit(commit) {
		return nil, fmt.Errorf("invalid commit %q", commit)
	}
	out, err := run(ctx, m.Dir, "log", "-1", "--format=%H%x00%an <%ae>%x00%cI%x00%B", commit)
	if err != nil {
		return nil, err
	}
	parts := strings.SplitN(string(out), "\x00", 4)
	if len(parts) != 4 {
		return nil, fmt.Errorf("describe %s: unexpected git output", commit)
	}
	t, _ := time.Parse(time.RFC3339, parts[2])
	return &Commit{ID: parts[0], Author: parts[1], Time: t, Message: strings.TrimSpace(parts[3])}, nil
}

// Checkout makes dir a fresh checkout of exactly commit, sharing objects with the mirror.
func (m *Mirror) Checkout(ctx context.Context, commit, dir string) error {
	if !ValidCommit(commit) {
		return fmt.Errorf("invalid commit %q", commit)
	}
	if _, err := run(ctx, "", "clone", "--quiet", "--shared", "--no-checkout", "--", m.Dir, dir); err != nil {
		return fmt.Errorf("checkout %s: %w", commit, err)
	}
	if _, err := run(ctx, dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit); err != nil {
		return fmt.Errorf("checkout %s: %w", commit, err)
	}
	return nil
}

// Commits returns the commits reachable from to but not from from (from "" means to alone), newest first,
// with their ids and commit times: the changes a release brought over the one before it.
func (m *Mirror) Commits(ctx context.Context, from, to string) ([]Commit, error) {
	if !ValidCommit(to) || from != "" && !ValidCommit(from) {
		return nil, fmt.Errorf("invalid commit range %q..%q", from, to)
	}
	args := []string{"log", "-1", "--format=%H %ct", to}
	if from != "" {
		args = []string{"log", "--format=%H %ct", from + ".." + to}
	}
	out, err := run(ctx, m.Dir, args...)
	if err != nil {
		return nil, err
	}
	var commits []Commit
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		id, ts, _ := strings.Cut(line, " ")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("commits: unexpected %q", line)
		}
		commits = append(commits, Commit{ID: id, Time: time.Unix(sec, 0).UTC()})
	}
	return commits, nil
}
