package source

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The forges' status APIs are hosted services that cannot run here. This test stands a local HTTP server in
// for each and checks every request against the contract each forge documents: method, path, auth header and
// the JSON fields with their allowed values.
func TestReportStatusFollowsEachForgesContract(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	type want struct {
		path, authHeader, auth string
		body                   map[string]string
	}
	for _, tc := range []struct {
		provider, repo, state string
		want                  want
	}{
		{"github", "acme/shop", "running", want{"/api/repos/acme/shop/statuses/" + sha, "Authorization", "Bearer tok",
			map[string]string{"state": "pending", "context": "ferry", "description": "run 7 running", "target_url": "http://ferry/runs/7"}}},
		{"github", "acme/shop", "failure", want{"/api/repos/acme/shop/statuses/" + sha, "Authorization", "Bearer tok",
			map[string]string{"state": "failure", "context": "ferry", "description": "run 7 running", "target_url": "http://ferry/runs/7"}}},
		{"gitea", "acme/shop", "success", want{"/api/repos/acme/shop/statuses/" + sha, "Authorization", "token tok",
			map[string]string{"state": "success", "context": "ferry", "description": "run 7 running", "target_url": "http://ferry/runs/7"}}},
		{"gitlab", "group/shop", "error", want{"/api/projects/group%2Fshop/statuses/" + sha, "Private-Token", "tok",
			map[string]string{"state": "failed", "name": "ferry", "description": "run 7 running", "target_url": "http://ferry/runs/7"}}},
		{"gitlab", "42", "running", want{"/api/projects/42/statuses/" + sha, "Private-Token", "tok",
			map[string]string{"state": "running", "name": "ferry", "description": "run 7 running", "target_url": "http://ferry/runs/7"}}},
	} {
		t.Run(tc.provider+"/"+tc.state, func(t *testing.T) {
			var got *http.Request
			var body map[string]string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				data, _ := io.ReadAll(r.Body)
				json.Unmarshal(data, &body)
				w.WriteHeader(http.StatusCreated)
			}))
			defer srv.Close()
			err := ReportStatus(context.Background(), srv.Client(), tc.provider, srv.URL+"/api/", tc.repo, "tok", sha,
				CommitStatus{State: tc.state, Description: "run 7 running", TargetURL: "http://ferry/runs/7"})
			if err != nil {
				t.Fatal(err)
			}
			if got.Method != "POST" || got.URL.EscapedPath() != tc.want.path || got.Header.Get(tc.want.authHeader) != tc.want.auth {
				t.Errorf("%s %s, %s: %q", got.Method, got.URL.EscapedPath(), tc.want.authHeader, got.Header.Get(tc.want.authHeader))
			}
			if got.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", got.Header.Get("Content-Type"))
			}
			if len(body) != len(tc.want.body) {
				t.Errorf("body %v, want %v", body, tc.want.body)
			}
			for k, v := range tc.want.body {
				if body[k] != v {
					t.Errorf("body[%s] = %q, want %q", k, body[k], v)
				}
			}
		})
	}
}

func TestReportStatusErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	sha := strings.Repeat("a", 40)
	ctx := context.Background()
	if err := ReportStatus(ctx, srv.Client(), "github", srv.URL, "a/b", "bad", sha, CommitStatus{State: "success"}); err == nil ||
		!strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "Bad credentials") {
		t.Errorf("rejected token: %v", err)
	}
	for _, tc := range []struct{ provider, repo, commit string }{
		{"bitbucket", "a/b", sha}, {"github", "nobody", sha}, {"github", "a/b/c", sha}, {"github", "a/b", "HEAD"}, {"gitlab", "", sha},
	} {
		if err := ReportStatus(ctx, srv.Client(), tc.provider, srv.URL, tc.repo, "t", tc.commit, CommitStatus{State: "success"}); err == nil {
			t.Errorf("ReportStatus(%s, %q, %q) succeeded", tc.provider, tc.repo, tc.commit)
		}
	}
	long := strings.Repeat("x", 300)
	var desc string
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]string
		json.NewDecoder(r.Body).Decode(&b)
		desc = b["description"]
	}))
	defer ok.Close()
	ReportStatus(ctx, ok.Client(), "github", ok.URL, "a/b", "t", sha, CommitStatus{State: "success", Description: long})
	if len(desc) != 140 || !strings.HasSuffix(desc, "...") {
		t.Errorf("description of %d bytes sent as %d", len(long), len(desc))
	}
}
