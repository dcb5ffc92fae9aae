package controlplane

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/store"
)

// TestAnalyzersDoNotGrowWithReleases analyses release after release in one environment, as a long-lived
// server does, and checks that only the analyzers of the releases in play now are kept.
func TestAnalyzersDoNotGrowWithReleases(t *testing.T) {
	a := &analyzers{counters: newCounters(nil, nil)}
	prod := store.EnvKey{Project: "shop", Env: "production"}
	staging := store.EnvKey{Project: "shop", Env: "staging"}
	a.release(context.Background(), pipeline.Analysis{}, rollout.AnalysisSubject{Key: staging, New: "s1"}, time.Second, proxy.Stable)
	for i := 1; i <= 50; i++ {
		subject := rollout.AnalysisSubject{Key: prod, New: fmt.Sprintf("r%d", i), Old: fmt.Sprintf("r%d", i-1)}
		a.release(context.Background(), pipeline.Analysis{}, subject, time.Second, proxy.Canary)
		a.release(context.Background(), pipeline.Analysis{}, subject, time.Second, proxy.Stable) // its bake
	}
	for k := range a.m {
		if k.release != "r50" && k.release != "r49" && k.release != "s1" {
			t.Errorf("after 50 releases the analyzer of %s (%s) is still kept; only r50, the stable r49 it replaces and staging's s1 should be", k.release, k.env)
		}
	}
}
