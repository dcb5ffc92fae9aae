package source

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitEnv isolates git from the user's and the system's configuration. It uses t.Setenv, so tests calling it
// cannot run in parallel; the code under test passes os.Environ() on to git.
func gitEnv(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_AUTHOR_NAME", "Ada Lovelace")
	t.Setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "Ada Lovelace")
	t.Setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
}

// git runs the git CLI in dir and returns its trimmed output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// testRepo is a working repository with a main branch.
type testRepo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T) *testRepo {
	t.Helper()
	gitEnv(t)
	r := &testRepo{t: t, dir: t.TempDir()}
	git(t, r.dir, "init", "--quiet", "--initial-branch=main")
	return r
}

// commit writes file with content and commits it at when, returning the commit id.
func (r *testRepo) commit(file, content, message string, when time.Time) string {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, file), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	git(r.t, r.dir, "add", file)
	date := when.Format(time.RFC3339)
	cmd := exec.Command("git", "commit", "--quiet", "-m", message)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("git commit: %v\n%s", err, out)
	}
	return git(r.t, r.dir, "rev-parse", "HEAD")
}

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func TestRemoteHead(t *testing.T) {
	r := newRepo(t)
	r.commit("a.txt", "1", "first", t0)
	head := r.commit("a.txt", "2", "second", t0.Add(time.Hour))
	git(t, r.dir, "branch", "other", "HEAD~1")
	ctx := context.Background()

	got, err := RemoteHead(ctx, r.dir, "main")
	if err != nil || got != head {
		t.Errorf("RemoteHead(main) = %q, %v; want %s", got, err, head)
	}
	other := git(t, r.dir, "rev-parse", "other")
	if got, err := RemoteHead(ctx, r.dir, "other"); err != nil || got != other {
		t.Errorf("RemoteHead(other) = %q, %v; want %s", got, err, other)
	}
	if got, err := RemoteHead(ctx, r.dir, "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("RemoteHead(nope) = %q, %v; want an error naming the branch", got, err)
	}
	if _, err := RemoteHead(ctx, filepath.Join(t.TempDir(), "missing"), "main"); err == nil {
		t.Error("RemoteHead of a missing repository succeeded")
	}
	if _, err := RemoteHead(ctx, "--upload-pack=touch /tmp/pwned", "main"); err == nil {
		t.Error("RemoteHead accepted an option as the URL")
	}
}

// fetched returns a mirror of r's main branch, fetched.
func fetched(t *testing.T, r *testRepo) *Mirror {
	t.Helper()
	m := &Mirror{Dir: filepath.Join(t.TempDir(), "mirror.git"), URL: r.dir, Branch: "main"}
	if err := m.Fetch(context.Background()); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return m
}

func TestMirrorFetchResolve(t *testing.T) {
	r := newRepo(t)
	first := r.commit("a.txt", "1", "first", t0)
	ctx := context.Background()
	m := fetched(t, r)

	if got, err := m.Resolve(ctx, ""); err != nil || got != first {
		t.Errorf("Resolve(branch) = %q, %v; want %s", got, err, first)
	}

	// New commits reach the mirror with the next fetch, into the existing directory.
	second := r.commit("a.txt", "2", "second", t0.Add(time.Hour))
	if got, _ := m.Resolve(ctx, ""); got != first {
		t.Errorf("before the fetch, Resolve(branch) = %q, want %s", got, first)
	}
	if err := m.Fetch(ctx); err != nil {
		t.Fatalf("second Fetch: %v", err)
	}
	if got, err := m.Resolve(ctx, ""); err != nil || got != second {
		t.Errorf("after the fetch, Resolve(branch) = %q, %v; want %s", got, err, second)
	}

	for _, rev := range []string{first, first[:7], first[:12], second} {
		want := first
		if rev == second {
			want = second
		}
		if got, err := m.Resolve(ctx, rev); err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %s", rev, got, err, want)
		}
	}

	tree := git(t, r.dir, "rev-parse", "HEAD^{tree}")
	for _, rev := range []string{
		"--upload-pack=x", "HEAD", "main", "refs/heads/main", first + "~1", first[:6], strings.ToUpper(first),
		"-" + first[:7], first + " ", "deadbeefdeadbeef", tree,
	} {
		if got, err := m.Resolve(ctx, rev); err == nil {
			t.Errorf("Resolve(%q) = %s, want an error", rev, got)
		}
	}
}

func TestMirrorFetchForcedPush(t *testing.T) {
	r := newRepo(t)
	r.commit("a.txt", "1", "first", t0)
	r.commit("a.txt", "2", "second", t0.Add(time.Hour))
	ctx := context.Background()
	m := fetched(t, r)

	git(t, r.dir, "reset", "--quiet", "--hard", "HEAD~1")
	rewritten := r.commit("a.txt", "3", "rewritten", t0.Add(2*time.Hour))
	if err := m.Fetch(ctx); err != nil {
		t.Fatalf("Fetch after a force push: %v", err)
	}
	if got, _ := m.Resolve(ctx, ""); got != rewritten {
		t.Errorf("Resolve(branch) = %s, want the rewritten head %s", got, rewritten)
	}
}

func TestMirrorFetchErrors(t *testing.T) {
	r := newRepo(t)
	r.commit("a.txt", "1", "first", t0)
	ctx := context.Background()
	for _, m := range []*Mirror{
		{Dir: filepath.Join(t.TempDir(), "m"), URL: r.dir, Branch: "nope"},
		{Dir: filepath.Join(t.TempDir(), "m"), URL: filepath.Join(t.TempDir(), "missing"), Branch: "main"},
		{Dir: filepath.Join(t.TempDir(), "m"), URL: "ext::sh -c touch% /tmp/pwned", Branch: "main"},
		{Dir: filepath.Join(t.TempDir(), "m"), URL: "-oProxyCommand=x", Branch: "main"},
	} {
		if err := m.Fetch(ctx); err == nil {
			t.Errorf("Fetch(%s, %s) succeeded, want an error", m.URL, m.Branch)
		}
	}
}

func TestMirrorIsAncestor(t *testing.T) {
	r := newRepo(t)
	a := r.commit("a.txt", "1", "a", t0)
	b := r.commit("a.txt", "2", "b", t0.Add(time.Hour))
	git(t, r.dir, "checkout", "--quiet", "-b", "side", a)
	c := r.commit("c.txt", "c", "c on a side branch", t0.Add(2*time.Hour))
	git(t, r.dir, "checkout", "--quiet", "main")
	git(t, r.dir, "merge", "--quiet", "--no-edit", "side")
	merged := git(t, r.dir, "rev-parse", "HEAD")
	m := fetched(t, r)
	ctx := context.Background()

	tests := []struct {
		a, b string
		want bool
	}{
		{a, b, true},
		{a, a, true},
		{b, a, false},
		{c, b, false},
		{b, c, false},
		{c, merged, true},
		{a[:7], b[:7], true},
		{"HEAD", b, false},
		{a, "--all", false},
		{a, "deadbeefdeadbeef", false},
	}
	for _, tt := range tests {
		if got := m.IsAncestor(ctx, tt.a, tt.b); got != tt.want {
			t.Errorf("IsAncestor(%.7s, %.7s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestMirrorDescribe(t *testing.T) {
	r := newRepo(t)
	when := time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("", 2*3600))
	id := r.commit("a.txt", "1", "Fix the thing\n\nIt was broken: see #12.\n", when)
	m := fetched(t, r)
	ctx := context.Background()

	for _, rev := range []string{id, id[:10]} {
		c, err := m.Describe(ctx, rev)
		if err != nil {
			t.Fatalf("Describe(%s): %v", rev, err)
		}
		if c.ID != id {
			t.Errorf("ID = %q, want %s", c.ID, id)
		}
		if want := "Ada Lovelace <ada@example.com>"; c.Author != want {
			t.Errorf("Author = %q, want %q", c.Author, want)
		}
		if want := "Fix the thing\n\nIt was broken: see #12."; c.Message != want {
			t.Errorf("Message = %q, want %q", c.Message, want)
		}
		if !c.Time.Equal(when) {
			t.Errorf("Time = %v, want %v", c.Time, when)
		}
	}
	for _, rev := range []string{"HEAD", "--all", "deadbeefdeadbeef"} {
		if c, err := m.Describe(ctx, rev); err == nil {
			t.Errorf("Describe(%q) = %+v, want an error", rev, c)
		}
	}
}

func TestMirrorCheckout(t *testing.T) {
	r := newRepo(t)
	r.commit("version.txt", "v1", "v1", t0)
	if err := os.WriteFile(filepath.Join(r.dir, "gone-later.txt"), []byte("here"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, r.dir, "add", "gone-later.txt")
	git(t, r.dir, "commit", "--quiet", "--amend", "--no-edit")
	old := git(t, r.dir, "rev-parse", "HEAD")
	git(t, r.dir, "rm", "--quiet", "gone-later.txt")
	head := r.commit("version.txt", "v2", "v2", t0.Add(time.Hour))
	m := fetched(t, r)
	ctx := context.Background()

	dir := filepath.Join(t.TempDir(), "checkout")
	if err := m.Checkout(ctx, old, dir); err != nil {
		t.Fatalf("Checkout(%s): %v", old, err)
	}
	if got := git(t, dir, "rev-parse", "HEAD"); got != old {
		t.Errorf("HEAD = %s, want the requested %s (branch head is %s)", got, old, head)
	}
	data, err := os.ReadFile(filepath.Join(dir, "version.txt"))
	if err != nil || string(data) != "v1" {
		t.Errorf("version.txt = %q, %v; want v1", data, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gone-later.txt")); err != nil {
		t.Errorf("gone-later.txt of the older commit is missing: %v", err)
	}
	if status := git(t, dir, "status", "--porcelain"); status != "" {
		t.Errorf("checkout is not clean:\n%s", status)
	}

	headDir := filepath.Join(t.TempDir(), "head")
	if err := m.Checkout(ctx, head[:8], headDir); err != nil {
		t.Fatalf("Checkout(%s): %v", head[:8], err)
	}
	if _, err := os.Stat(filepath.Join(headDir, "gone-later.txt")); err == nil {
		t.Error("a file removed at the head is in the head's checkout")
	}

	for _, rev := range []string{"HEAD", "main", "--orphan=x", "deadbeefdeadbeef"} {
		if err := m.Checkout(ctx, rev, filepath.Join(t.TempDir(), "bad")); err == nil {
			t.Errorf("Checkout(%q) succeeded, want an error", rev)
		}
	}
}

func TestValidateBranch(t *testing.T) {
	gitEnv(t)
	ctx := context.Background()
	for _, b := range []string{"main", "feature/x", "release-1.2", "fix_123", "user/ada/topic"} {
		if err := ValidateBranch(ctx, b); err != nil {
			t.Errorf("ValidateBranch(%q) = %v, want nil", b, err)
		}
	}
	for _, b := range []string{"", "-x", "--upload-pack=x", "a..b", "foo bar", "a~1", "a^", "a:b", "feature/", "x.lock", "a\\b"} {
		if err := ValidateBranch(ctx, b); err == nil {
			t.Errorf("ValidateBranch(%q) = nil, want an error", b)
		}
	}
}

func TestValidateRepo(t *testing.T) {
	for _, u := range []string{
		"https://github.com/ferry-cd/ferry.git", "git@github.com:ferry-cd/ferry.git", "ssh://git@host/repo",
		"/srv/git/repo.git", "file:///srv/git/repo.git", "ssh://git@[::1]:2222/repo.git", "https://[fe80::1]/r.git",
	} {
		if err := ValidateRepo(u); err != nil {
			t.Errorf("ValidateRepo(%q) = %v, want nil", u, err)
		}
	}
	for _, u := range []string{"", "-oProxyCommand=x", "--upload-pack=touch x", "ext::sh -c x", "fd::3", "transport::addr"} {
		if err := ValidateRepo(u); err == nil {
			t.Errorf("ValidateRepo(%q) = nil, want an error", u)
		}
	}
}

func TestValidCommit(t *testing.T) {
	for _, s := range []string{"abcdef0", strings.Repeat("a", 40), strings.Repeat("0", 64)} {
		if !ValidCommit(s) {
			t.Errorf("ValidCommit(%q) = false", s)
		}
	}
	for _, s := range []string{"", "abcdef", "ABCDEF0", "HEAD", "--all", "abcdefg", strings.Repeat("a", 65), "abcdef0\n"} {
		if ValidCommit(s) {
			t.Errorf("ValidCommit(%q) = true", s)
		}
	}
}

func TestCommits(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	gitCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@x",
			"GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@x")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	os.MkdirAll(work, 0o755)
	gitCmd("init", "-q", "--initial-branch=main")
	var shas []string
	for i, when := range []string{"2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z", "2026-01-03T10:00:00Z"} {
		os.WriteFile(filepath.Join(work, "f"), []byte(fmt.Sprint(i)), 0o644)
		gitCmd("add", "f")
		cmd := exec.Command("git", "commit", "-q", "-m", fmt.Sprint(i))
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@x",
			"GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@x", "GIT_COMMITTER_DATE="+when, "GIT_AUTHOR_DATE="+when)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("commit: %v %s", err, out)
		}
		shas = append(shas, gitCmd("rev-parse", "HEAD"))
	}
	m := &Mirror{Dir: filepath.Join(dir, "mirror.git"), URL: work, Branch: "main"}
	if err := m.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := m.Commits(context.Background(), shas[0], shas[2])
	if err != nil || len(got) != 2 || got[0].ID != shas[2] || got[0].Time.Format(time.RFC3339) != "2026-01-03T10:00:00Z" ||
		got[1].ID != shas[1] || got[1].Time.Format(time.RFC3339) != "2026-01-02T10:00:00Z" {
		t.Errorf("Commits(first..last) = %v, %v", got, err)
	}
	if got, err := m.Commits(context.Background(), "", shas[1]); err != nil || len(got) != 1 || got[0].ID != shas[1] || got[0].Time.Day() != 2 {
		t.Errorf("Commits(..second) = %v, %v", got, err)
	}
	if _, err := m.Commits(context.Background(), "--all", shas[1]); err == nil {
		t.Error("an option as a commit was accepted")
	}
}
