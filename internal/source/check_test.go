package source

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckBranch(t *testing.T) {
	r := newRepo(t)
	r.commit("a.txt", "1", "first", t0)
	git(t, r.dir, "branch", "develop")
	empty := newRepo(t)
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="forge"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
	}))
	t.Cleanup(refuse.Close)
	withToken := strings.Replace(refuse.URL, "http://", "http://bot:s3cretT0ken@", 1) + "/app.git"

	tests := []struct {
		name, url, branch string
		empty             bool
		want              string // in the error; "" for none
	}{
		{"the branch is there", r.dir, "main", false, ""},
		{"another branch is there", r.dir, "develop", false, ""},
		{"an empty repository: its first push makes the branch", empty.dir, "main", true, ""},
		{"a misspelt branch", r.dir, "mian", false, `has no branch "mian" (did you mean "main"?): its branches are develop, main`},
		{"a branch in another case", r.dir, "Main", false, `(did you mean "main"?)`},
		{"a branch far from all", r.dir, "release-2024", false, `has no branch "release-2024": its branches are develop, main`},
		{"no repository there", filepath.Join(t.TempDir(), "nowhere"), "main", false, "does not appear to be a git repository"},
		{"credentials refused, and never shown", withToken, "main", false, "Authentication failed for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			empty, err := (&Mirror{URL: tt.url, Branch: tt.branch}).CheckBranch(t.Context())
			if tt.want == "" {
				if err != nil || empty != tt.empty {
					t.Fatalf("CheckBranch = %v, %v; want %v, nil", empty, err, tt.empty)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckBranch error = %v; want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cretT0ken") || strings.Contains(err.Error(), "\n") {
				t.Errorf("the error shows the token or spans lines: %q", err)
			}
			var unreachable *UnreachableError
			var missing *BranchMissingError
			if !errors.As(err, &unreachable) && !errors.As(err, &missing) {
				t.Errorf("error %T is neither unreachable nor a missing branch", err)
			}
		})
	}
}

// A remote that accepts the connection and never answers is unreachable once the caller's context ends.
func TestCheckBranchTimesOut(t *testing.T) {
	gitEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	t.Cleanup(func() {
		l.Close()
		for len(conns) > 0 {
			(<-conns).Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			select {
			case conns <- c:
			default:
				c.Close()
			}
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err = (&Mirror{URL: "http://" + l.Addr().String() + "/app.git", Branch: "main"}).CheckBranch(ctx)
	var unreachable *UnreachableError
	if !errors.As(err, &unreachable) || !strings.Contains(err.Error(), "no answer in time") {
		t.Fatalf("CheckBranch = %v; want unreachable, no answer in time", err)
	}
}

func TestIgnoredBy(t *testing.T) {
	r := newRepo(t)
	if rule := IgnoredBy(t.Context(), r.dir, ".ferry.yaml"); rule != "" {
		t.Errorf("nothing ignores .ferry.yaml yet, but IgnoredBy says %q", rule)
	}
	if err := os.WriteFile(filepath.Join(r.dir, ".gitignore"), []byte("build/\n.*\n!.gitignore\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rule := IgnoredBy(t.Context(), r.dir, ".ferry.yaml"); rule != ".gitignore:2:.*" {
		t.Errorf("IgnoredBy = %q; want .gitignore:2:.*", rule)
	}
	if rule := IgnoredBy(t.Context(), t.TempDir(), ".ferry.yaml"); rule != "" {
		t.Errorf("outside a repository IgnoredBy = %q", rule)
	}
}
