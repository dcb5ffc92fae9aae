package flagruntime

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/analysis/promtest"
	"github.com/ferry-cd/ferry/internal/store"
)

const promptFlags = "flags:\n  prompt:\n    variants: {verbose: \"Answer in full.\", concise: \"Answer in one line.\"}\n    default: verbose\n"

func TestExperimentHoldsItsSplitAndRevertsOnAFailedAnalysis(t *testing.T) {
	f := newFixture(t)
	checks := "    analysis: {interval: 10s, checks: [{prometheus: {url: 'http://127.0.0.1:9', " +
		"query: 'avg(answer_quality{variant=\"{{ .Variant }}\"})', max_under_control: 0.05}}]}\n"
	rel := f.release(promptFlags+"    progressive: {variant: concise, experiment: 50%}\n", checks)
	f.goLive(rel)
	f.tick()
	fr := f.flagRollout("prompt")
	if fr == nil || fr.State != store.FlagProgressing || fr.Share != 5000 || fr.Steps != 1 || fr.Spec != "concise experiment 50%" ||
		fr.Reason != "experiment: 50% of concise" {
		t.Fatalf("after the first tick: %+v, want the experiment at 50%%", fr)
	}
	for range 3 { // passing analyses hold the split: an experiment never advances nor succeeds
		f.now = f.now.Add(time.Hour)
		f.tick()
		if got := f.flagRollout("prompt"); got.State != store.FlagProgressing || got.Share != 5000 || got.Step != 1 {
			t.Fatalf("after a passing analysis: %+v, want held at 50%%", got)
		}
	}
	if len(f.asked) != 3 {
		t.Fatalf("%d analyses, want 3", len(f.asked))
	}
	if s := f.asked[0].Subject; s != (VariantSubject{Flag: "prompt", Variant: "concise", Control: "verbose"}) {
		t.Errorf("analysed subject %+v, want concise against its control verbose", s)
	}
	f.verdict = analysis.Fail
	f.now = f.now.Add(10 * time.Second)
	f.tick()
	fr = f.flagRollout("prompt")
	if fr.State != store.FlagReverted || fr.Share != 0 || len(f.reverted) != 1 {
		t.Fatalf("after a failed analysis: %+v (%d notified), want reverted to 0", fr, len(f.reverted))
	}
	if got := f.serves("prompt"); got != "verbose" {
		t.Errorf("serves %s after the revert, want the control verbose", got)
	}
}

// TestVariantWorseThanControlInPrometheusIsReverted runs a real Prometheus scraping an app whose answers are
// scored per prompt variant, and the real analysis: while the variant scores like its control the flag
// rollout advances; once its score falls below the control's by more than max_under_control, the next
// analysis reverts it.
func TestVariantWorseThanControlInPrometheusIsReverted(t *testing.T) {
	var concise atomic.Value
	concise.Store("0.91")
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE answer_quality gauge\nanswer_quality{variant=\"verbose\"} 0.9\nanswer_quality{variant=\"concise\"} %s\n", concise.Load())
	}))
	t.Cleanup(app.Close)
	base := promtest.Start(t, app.URL)

	f := newFixture(t)
	prom := &analysis.Prometheus{}
	f.rt.Analyze = func(ctx context.Context, req AnalysisRequest) (analysis.Verdict, string) {
		subject := req.Subject
		an := &analysis.Analyzer{Checks: req.Analysis.Checks, Prometheus: prom, Variant: &subject}
		ev := an.Evaluate(ctx, req.Span, "stable", "")
		f.asked = append(f.asked, req)
		return ev.Verdict, ev.Summary()
	}
	checks := fmt.Sprintf("    analysis:\n      interval: 1s\n      checks:\n"+
		"        - prometheus:\n            url: %s\n            query: avg(answer_quality{variant=\"{{ .Variant }}\"})\n"+
		"            max_under_control: 0.05\n", base)
	rel := f.release(promptFlags+"    progressive: {variant: concise, steps: [10%, 50%, 100%], interval: 1m}\n", checks)
	f.goLive(rel)
	f.tick()

	// Until the first scrape the check has no data (inconclusive: held); then concise 0.91 against verbose 0.9
	// passes and the rollout takes its second step.
	waitFor(t, f, func(fr *store.FlagRollout) bool { return fr.Step == 2 })
	if fr := f.flagRollout("prompt"); fr.State != store.FlagProgressing || fr.Share != 5000 {
		t.Fatalf("after a passing analysis: %+v, want step 2 at 50%%", fr)
	}

	concise.Store("0.6")
	waitFor(t, f, func(fr *store.FlagRollout) bool { return fr.State.Done() })
	fr := f.flagRollout("prompt")
	if fr.State != store.FlagReverted || fr.Share != 0 {
		t.Fatalf("after concise scored 0.6: %+v, want reverted", fr)
	}
	want := "prompt concise 0.6 against verbose 0.9: 0.3 under control > max_under_control 0.05"
	if !strings.Contains(fr.Reason, want) {
		t.Errorf("reason %q, want it to contain %q", fr.Reason, want)
	}
	if got := f.serves("prompt"); got != "verbose" {
		t.Errorf("serves %s after the revert, want verbose", got)
	}
}

// waitFor ticks the flag rollout loop, a minute of the fixture's clock at a time, until done holds for the
// flag rollout of prompt; the real Prometheus behind the analysis scrapes on its own clock.
func waitFor(t *testing.T, f *fixture, done func(*store.FlagRollout) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !done(f.flagRollout("prompt")) {
		if time.Now().After(deadline) {
			t.Fatalf("flag rollout still %+v after 60s", f.flagRollout("prompt"))
		}
		time.Sleep(200 * time.Millisecond)
		f.now = f.now.Add(time.Minute)
		f.tick()
	}
}
