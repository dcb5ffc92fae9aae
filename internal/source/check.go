package source

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferry-cd/ferry/internal/yamlfile"
)

// UnreachableError is a repository git could not list: it does not exist, refuses the credentials, or does
// not answer. Reason is git's own words, with any credentials redacted.
type UnreachableError struct {
	URL    string // redacted
	Reason string
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("repository %s is unreachable: %s", e.URL, e.Reason)
}

// BranchMissingError is a repository that answers but has no such branch. Branches are those it has, sorted
// as the remote lists them.
type BranchMissingError struct {
	URL      string // redacted
	Branch   string
	Branches []string
	// Closest is the branch Branch is likely a misspelling of; empty when none is near.
	Closest string
}

func (e *BranchMissingError) Error() string {
	const most = 20
	list := e.Branches
	more := ""
	if len(list) > most {
		list, more = list[:most], fmt.Sprintf(" and %d more", len(e.Branches)-most)
	}
	hint := ""
	if e.Closest != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", e.Closest)
	}
	return fmt.Sprintf("repository %s has no branch %q%s: its branches are %s%s", e.URL, e.Branch, hint, strings.Join(list, ", "), more)
}

// CheckBranch asks the remote for its branches, without fetching anything, and tells whether the mirror's
// branch can be followed. It returns nil when the remote has the branch, and also when it has no branch at
// all: a new, empty repository, whose first push creates the branch (empty is then true). Otherwise the error
// is an *UnreachableError or a *BranchMissingError. ctx bounds the wait for a remote that does not answer.
func (m *Mirror) CheckBranch(ctx context.Context) (empty bool, err error) {
	if err := ValidateRepo(m.URL); err != nil {
		return false, err
	}
	remote, env, err := m.remote()
	if err != nil {
		return false, err
	}
	out, err := runEnv(ctx, "", env, "ls-remote", "--heads", "--", remote)
	if err != nil {
		reason := gitReason(err)
		if ctx.Err() != nil {
			reason = "no answer in time (" + reason + ")"
		}
		return false, &UnreachableError{URL: Redact(m.URL), Reason: reason}
	}
	var branches []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		_, ref, ok := strings.Cut(line, "\t")
		if name, isHead := strings.CutPrefix(ref, "refs/heads/"); ok && isHead {
			if name == m.Branch {
				return false, nil
			}
			branches = append(branches, name)
		}
	}
	if len(branches) == 0 {
		return true, nil
	}
	return false, &BranchMissingError{URL: Redact(m.URL), Branch: m.Branch, Branches: branches, Closest: yamlfile.Closest(m.Branch, branches)}
}

// gitReason turns the error of a git command into git's message on one line: its "fatal:" prefixes and the
// advice about access rights dropped, the lines joined with "; ".
func gitReason(err error) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "git ") {
		msg = rest
	}
	var lines []string
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(strings.TrimPrefix(line, "fatal: "), "error: ")
		switch {
		case line == "",
			strings.HasPrefix(line, "Please make sure you have the correct access rights"),
			line == "and the repository exists.":
			continue
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return err.Error()
	}
	return strings.Join(lines, "; ")
}
