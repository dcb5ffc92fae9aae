package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/store"
)

// A release whose bundle retention removed (--keep-releases) is still answered, marked pruned, with no files:
// a client walking old rollouts must not get a 500.
func TestPrunedReleaseIsAnswered(t *testing.T) {
	f := newAPIFixture(t)
	rel := &store.Release{Project: "web", Bundle: "sha256:" + strings.Repeat("ab", 32), Commit: "abc123", CreatedAt: time.Now().UTC()}
	if err := f.store.CreateRelease(context.Background(), rel); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fmt.Sprintf("/api/v1/releases/%d", rel.ID), fmt.Sprintf("/api/v1/projects/web/releases/v%d", rel.Version)} {
		code, body := f.do(t, "read", "GET", path, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		var v api.ReleaseView
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		if !v.Pruned || len(v.Files) != 0 || v.Release == nil || v.Release.Commit != "abc123" {
			t.Errorf("GET %s: %s, want the release marked pruned with no files", path, body)
		}
	}
}
