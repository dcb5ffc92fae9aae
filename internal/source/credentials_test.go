package source

import (
	"slices"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:s3cret@git.example/x.git", "https://***@git.example/x.git"},
		{"https://ghp_token@github.com/o/r.git", "https://***@github.com/o/r.git"},
		{"fatal: unable to access 'https://u:tok@h.example/r.git/': 403", "fatal: unable to access 'https://***@h.example/r.git/': 403"},
		{"fetch https://a:b@one.example/x and http://c:d@two.example/y", "fetch https://***@one.example/x and http://***@two.example/y"},
		{"https://git.example/x.git", "https://git.example/x.git"},
		{"/srv/git/app.git", "/srv/git/app.git"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"},
		{"https://git.example/users/@me/r.git", "https://git.example/users/@me/r.git"},
		{"mail alice@example.com", "mail alice@example.com"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitCredentials(t *testing.T) {
	tests := []struct {
		in, url string
		cred    Credentials
	}{
		{"https://user:s3cret@git.example/x.git", "https://git.example/x.git", Credentials{"user", "s3cret"}},
		{"https://tok@git.example/x.git", "https://git.example/x.git", Credentials{Username: "tok"}},
		{"https://u:p%2Fq@git.example:8443/x.git", "https://git.example:8443/x.git", Credentials{"u", "p/q"}},
		{"https://git.example/x.git", "https://git.example/x.git", Credentials{}},
		{"ssh://git@git.example/x.git", "ssh://git@git.example/x.git", Credentials{}},
		{"/srv/git/app.git", "/srv/git/app.git", Credentials{}},
	}
	for _, tt := range tests {
		url, cred := SplitCredentials(tt.in)
		if url != tt.url || cred != tt.cred {
			t.Errorf("SplitCredentials(%q) = %q, %+v; want %q, %+v", tt.in, url, cred, tt.url, tt.cred)
		}
	}
}

func TestCredentialsWithALineBreakAreRefused(t *testing.T) {
	m := &Mirror{Dir: t.TempDir(), URL: "https://git.example/x.git", Branch: "main", Cred: Credentials{Password: "a\nprotocol=evil"}}
	if _, _, err := m.remote(); err != ErrBadCredentials {
		t.Errorf("remote with a line break in the token: %v, want ErrBadCredentials", err)
	}
}

// The credentials reach git through its environment, never through its arguments (which every process of the
// machine can read in /proc).
func TestCredentialsStayOffTheCommandLine(t *testing.T) {
	for _, m := range []*Mirror{
		{URL: "https://bot:s3cret@git.example/x.git"},
		{URL: "https://git.example/x.git", Cred: Credentials{Password: "s3cret"}},
	} {
		remote, env, err := m.remote()
		if err != nil {
			t.Fatal(err)
		}
		if remote != "https://git.example/x.git" {
			t.Errorf("git is given %q, want the URL without credentials", remote)
		}
		if !slices.Contains(env, "FERRY_GIT_PASSWORD=s3cret") || !slices.Contains(env, "GIT_CONFIG_KEY_1=credential.https://git.example.helper") {
			t.Errorf("environment %q does not carry the token for git.example alone", env)
		}
	}
}
