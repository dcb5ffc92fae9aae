package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/store"
)

func TestLogTailGivesLastLinesThenWhatIsAppended(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app-0.log")
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	b.WriteString("half")
	os.WriteFile(path, []byte(b.String()), 0o600)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tl, last, err := openTail(f, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(bytes.Join(last, []byte("|"))); got != "line 47|line 48|line 49" {
		t.Errorf("last lines %q", got)
	}
	w, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	w.WriteString(" done\r\nnext\n")
	w.Close()
	var more []string
	tl.more(func(l []byte) error { more = append(more, string(l)); return nil })
	if strings.Join(more, "|") != "half done|next" {
		t.Errorf("appended %q", more)
	}
}

// logsTarget is a target whose instance logs are files in a folder, as the local target's are.
type logsTarget struct{ dir string }

func (logsTarget) Status(context.Context) (*deploy.Status, error) { return &deploy.Status{}, nil }
func (logsTarget) Metrics(context.Context, io.Writer) error       { return nil }
func (t logsTarget) InstanceLogs(_ context.Context, env store.EnvKey, release string) ([]io.ReadSeekCloser, error) {
	var out []io.ReadSeekCloser
	for n := 0; ; n++ {
		f, err := os.Open(filepath.Join(t.dir, fmt.Sprintf("%s-%s-%d.log", env.Env, release, n)))
		if err != nil {
			return out, nil
		}
		out = append(out, f)
	}
}

func TestAppLogsEndpoint(t *testing.T) {
	f := newAPIFixture(t)
	dir := t.TempDir()
	ctx := context.Background()
	rel := &store.Release{Project: "web", Commit: "abc", CreatedAt: time.Now().UTC()}
	if err := f.store.CreateRelease(ctx, rel); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutEnvironment(ctx, &store.Environment{Project: "web", Name: "production", LiveReleaseID: rel.ID}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, fmt.Sprintf("production-%d-0.log", rel.ID)), []byte("listening on 8080\n\x1b[31mGET /\x1b[0m\n"), 0o600)
	os.WriteFile(filepath.Join(dir, fmt.Sprintf("production-%d-1.log", rel.ID)), []byte("listening on 8081\n"), 0o600)
	s := New(Config{Store: f.store, Target: logsTarget{dir}})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens["read"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// The live release by default, or the release a user names by its version: 1 or v1.
	for _, query := range []string{"", "&release=1", "&release=v1"} {
		code, body := get("/api/v1/projects/web/environments/production/logs?lines=1" + query)
		var lines []api.AppLogLine
		for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
			var ln api.AppLogLine
			if err := json.Unmarshal([]byte(l), &ln); err != nil {
				t.Fatalf("%d %q: %v", code, body, err)
			}
			lines = append(lines, ln)
		}
		want := []api.AppLogLine{{ReleaseID: rel.ID, ReleaseVersion: 1, Instance: 0, Text: "\x1b[31mGET /\x1b[0m"},
			{ReleaseID: rel.ID, ReleaseVersion: 1, Instance: 1, Text: "listening on 8081"}}
		if fmt.Sprint(lines) != fmt.Sprint(want) {
			t.Errorf("%q: lines %+v, want %+v", query, lines, want)
		}
	}

	for _, tc := range []struct {
		path string
		code int
		says string
	}{
		{"/api/v1/projects/web/environments/staging/logs", 404, "of project web does not exist (environments: [production])"},
		{"/api/v1/projects/web/environments/production/logs?release=999", 404, "project web has no release v999 (its newest: v1)"},
		{"/api/v1/projects/web/environments/production/logs?release=..%2F..", 400, "give the release's version within its project"},
		{"/api/v1/projects/web/environments/production/logs?lines=-1", 400, "lines"},
		{"/api/v1/projects/web/environments/..%2F..%2Fetc/logs", 404, "does not exist"},
	} {
		if code, body := get(tc.path); code != tc.code || !strings.Contains(body, tc.says) {
			t.Errorf("GET %s = %d %s, want %d with %q", tc.path, code, body, tc.code, tc.says)
		}
	}
}

func TestAppLogsFollowSendsWhatIsAppended(t *testing.T) {
	f := newAPIFixture(t)
	dir := t.TempDir()
	ctx := context.Background()
	rel := &store.Release{Project: "web", Commit: "abc", CreatedAt: time.Now().UTC()}
	if err := f.store.CreateRelease(ctx, rel); err != nil {
		t.Fatal(err)
	}
	f.store.PutEnvironment(ctx, &store.Environment{Project: "web", Name: "production", LiveReleaseID: rel.ID})
	path := filepath.Join(dir, fmt.Sprintf("production-%d-0.log", rel.ID))
	os.WriteFile(path, []byte("started\n"), 0o600)
	ts := httptest.NewServer(New(Config{Store: f.store, Target: logsTarget{dir}}).Handler())
	t.Cleanup(ts.Close)
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(reqCtx, "GET", ts.URL+"/api/v1/projects/web/environments/production/logs?follow=1", nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens["read"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	next := func() string {
		var ln api.AppLogLine
		if err := dec.Decode(&ln); err != nil {
			t.Fatalf("next line: %v", err)
		}
		return ln.Text
	}
	if got := next(); got != "started" {
		t.Fatalf("first line %q", got)
	}
	w, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	w.WriteString("served GET /\n")
	w.Close()
	if got := next(); got != "served GET /" {
		t.Fatalf("followed line %q", got)
	}
}
