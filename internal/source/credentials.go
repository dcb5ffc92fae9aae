package source

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Credentials are what a private repository over HTTPS asks for. They reach git through its environment and
// a credential helper that reads it, scoped to the repository's host: never on git's command line (which any
// process of the machine can read) and never in a URL that is stored or shown.
type Credentials struct {
	Username string
	Password string // a token, usually
}

// DefaultRepoUser is the user name sent with a repository token given without one: GitHub takes any name with
// a token, GitLab and Gitea any non-empty one.
const DefaultRepoUser = "x-access-token"

// userinfoRE finds the user information of URLs in free text: what is between "scheme://" and the "@" before
// the host. It stops at characters a URL cannot hold unescaped, and at '/', so paths with '@' are left alone.
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'"<>]+@`)

// Redact removes the user information of every URL in s ("https://user:TOKEN@host/x" becomes
// "https://***@host/x"), so that a credential written into a repository URL never reaches a log, an error,
// a reason or an API answer. The rest of s is unchanged.
func Redact(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfoRE.ReplaceAllString(s, "${1}***@")
}

// SplitCredentials takes the user information out of an http or https repository URL: it returns the URL
// without it and the credentials it held (zero when none). Other URLs and paths come back unchanged.
func SplitCredentials(raw string) (string, Credentials) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || (u.Scheme != "http" && u.Scheme != "https") {
		return raw, Credentials{}
	}
	c := Credentials{Username: u.User.Username()}
	c.Password, _ = u.User.Password()
	u.User = nil
	return u.String(), c
}

// validCredential refuses what would break git's credential protocol (one key=value per line).
func validCredential(s string) bool { return !strings.ContainsAny(s, "\n\r\x00") }

// ErrBadCredentials is returned for credentials git's credential protocol cannot carry.
var ErrBadCredentials = errors.New("repository credentials hold a line break or a NUL: give the token alone")

// remote returns the URL git is given and the environment that carries the credentials: the mirror's own
// Cred when set, else those written in its URL (an older project's), which are taken out of it.
func (m *Mirror) remote() (string, []string, error) {
	clean, inURL := SplitCredentials(m.URL)
	cred := m.Cred
	if cred == (Credentials{}) {
		cred = inURL
	}
	if cred.Password == "" && cred.Username == "" {
		return clean, nil, nil
	}
	if !validCredential(cred.Username) || !validCredential(cred.Password) {
		return "", nil, ErrBadCredentials
	}
	if cred.Username == "" {
		cred.Username = DefaultRepoUser
	}
	u, err := url.Parse(clean)
	if err != nil || u.Host == "" {
		return clean, nil, nil
	}
	// The first entry empties the list of helpers the machine's git config may name (a "store" helper would
	// write the token to ~/.git-credentials); the second answers "get" for this host alone, from the
	// environment, so that a redirect to another host is not handed the token.
	helper := `!f() { test "$1" = get || exit 0; printf 'username=%s\npassword=%s\n' "$FERRY_GIT_USERNAME" "$FERRY_GIT_PASSWORD"; }; f`
	return clean, []string{
		"GIT_CONFIG_COUNT=2",
		"GIT_CONFIG_KEY_0=credential.helper", "GIT_CONFIG_VALUE_0=",
		"GIT_CONFIG_KEY_1=credential." + u.Scheme + "://" + u.Host + ".helper", "GIT_CONFIG_VALUE_1=" + helper,
		"FERRY_GIT_USERNAME=" + cred.Username, "FERRY_GIT_PASSWORD=" + cred.Password,
	}, nil
}

// RemoteHead returns the commit the mirror's branch points to in the remote repository, without fetching.
func (m *Mirror) RemoteHead(ctx context.Context) (string, error) {
	if err := ValidateRepo(m.URL); err != nil {
		return "", err
	}
	remote, env, err := m.remote()
	if err != nil {
		return "", err
	}
	out, err := runEnv(ctx, "", env, "ls-remote", "--", remote, "refs/heads/"+m.Branch)
	if err != nil {
		return "", err
	}
	line := strings.TrimSpace(string(out))
	if line == "" {
		return "", errors.New("branch " + m.Branch + " not found in " + Redact(m.URL))
	}
	sha, _, _ := strings.Cut(line, "\t")
	return sha, nil
}
