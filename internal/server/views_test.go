package server

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/dora"
	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// The views as the server wrote them before internal/api existed: store records embedded in server types.
// They are the reference the api views must encode exactly like.
type (
	oldProjectView struct {
		*store.Project
		Poll    string             `json:"poll"`
		Webhook bool               `json:"webhook"`
		Notify  []store.NotifySink `json:"notify,omitempty"`
	}
	oldRunView struct {
		oldRun
		Steps []*store.Step `json:"steps"`
	}
	oldEnvStatus struct {
		Name              string                   `json:"name"`
		LiveReleaseID     int64                    `json:"live_release_id"`
		PreviousReleaseID int64                    `json:"previous_release_id,omitempty"`
		Rollout           *oldRollout              `json:"rollout,omitempty"`
		Analysis          json.RawMessage          `json:"analysis,omitempty"`
		Listen            string                   `json:"listen,omitempty"`
		Running           []dataplane.ReleaseState `json:"running,omitempty"`
		// Added on 2026-12-02.
		LiveReleaseVersion     int64 `json:"live_release_version"`
		PreviousReleaseVersion int64 `json:"previous_release_version,omitempty"`
	}
	// The keys added on 2026-12-02 (docs/api.md, Changes): each release's version beside its ID, at the end.
	oldRollout struct {
		*store.Rollout
		ReleaseVersion     int64 `json:"release_version"`
		FromReleaseVersion int64 `json:"from_release_version,omitempty"`
	}
	oldRun struct {
		*store.Run
		ReleaseVersion int64 `json:"release_version,omitempty"`
	}
	oldProjectStatus struct {
		Project      string         `json:"project"`
		Environments []oldEnvStatus `json:"environments"`
	}
	oldRolloutView struct {
		oldRollout
		Events  []store.RolloutEvent  `json:"events"`
		Samples []store.RolloutSample `json:"samples"`
	}
	oldFlagView struct {
		Key         string                   `json:"key"`
		Type        string                   `json:"type"`
		Variants    []api.VariantView        `json:"variants"`
		Default     string                   `json:"default"`
		Disabled    bool                     `json:"disabled,omitempty"`
		Git         string                   `json:"git,omitempty"`
		Override    *store.FlagOverride      `json:"override,omitempty"`
		Drift       bool                     `json:"drift"`
		Progressive string                   `json:"progressive,omitempty"`
		FlagRollout *store.FlagRollout       `json:"rollout,omitempty"`
		Events      []store.FlagRolloutEvent `json:"events,omitempty"`
	}
	oldFlagsView struct {
		Project   string        `json:"project"`
		Env       string        `json:"env"`
		ReleaseID int64         `json:"release_id"`
		Flags     []oldFlagView `json:"flags"`
		// Added on 2026-12-02.
		ReleaseVersion int64 `json:"release_version"`
	}
	oldDoraEnvReport struct {
		Env    string        `json:"env"`
		Report dora.Report   `json:"report"`
		Weekly []dora.Report `json:"weekly,omitempty"`
	}
	oldDoraView struct {
		Project      string             `json:"project"`
		Window       string             `json:"window"`
		Environments []oldDoraEnvReport `json:"environments"`
	}
)

// TestViewsEncodeLikeRecords checks that every answer the handlers build from api views is byte for byte
// what they wrote before from ferry's records, so e2e tests and users' scripts read the same JSON; and that
// a client decoding it into the api types and encoding it again loses nothing.
func TestViewsEncodeLikeRecords(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 34, 56, 789000000, time.UTC)
	f := func(v float64) *float64 { return &v }

	project := &store.Project{Name: "web", Repo: "https://bob:s3cret@git.example/web.git", Branch: "main", Poll: 30 * time.Second,
		WebhookSecret: "hush", Concurrency: 2, Head: "0123456789abcdef", CreatedAt: at,
		Status: store.StatusTarget{Provider: "github", API: "https://api.github.com", Repo: "acme/web"},
		Notify: []store.NotifySink{{Kind: "slack", URL: "https://hooks.slack.com/services/T0/B0/key"}}}
	bare := &store.Project{Name: "api", Repo: "/srv/git/api", Branch: "trunk", Concurrency: 1, CreatedAt: at}
	oldProject := func(p *store.Project) oldProjectView {
		poll := "off"
		if p.Poll > 0 {
			poll = p.Poll.String()
		}
		cp := *p
		cp.Repo = source.Redact(p.Repo)
		v := oldProjectView{Project: &cp, Poll: poll, Webhook: p.WebhookSecret != ""}
		for _, n := range p.Notify {
			v.Notify = append(v.Notify, store.NotifySink{Kind: n.Kind, URL: redactURL(n.URL)})
		}
		return v
	}

	run := &store.Run{ID: 7, Project: "web", Branch: "main", Commit: "0123456789abcdef", Trigger: "webhook", State: store.RunFailed,
		Reason: "step test/unit failed", FailedStep: "test/unit", ReleaseID: 3, CreatedAt: at, StartedAt: at.Add(time.Second),
		FinishedAt: at.Add(9 * time.Second)}
	queued := &store.Run{ID: 8, Project: "web", Branch: "main", Commit: "fedcba", Trigger: "manual", State: store.RunQueued, CreatedAt: at}
	steps := []*store.Step{
		{RunID: 7, Stage: "build", Name: "compile", State: store.StepPassed, Attempts: 1, StartedAt: at, FinishedAt: at.Add(time.Second),
			Metrics: []gate.Metric{{Name: "size", Value: 12.5, Unit: "MB", Direction: gate.LowerIsBetter}, {Name: "n", Value: 3}},
			Verdicts: []gate.Verdict{{Metric: "size", Bound: "max_increase 10%", Baseline: f(11), Current: f(12.5),
				Change: "+1.5 (+13.6%, worse)", Reason: "over the bound"}, {Metric: "n", Bound: "max 5", Current: f(3), Pass: true}},
			Artifacts: []store.Artifact{{Path: "app", Digest: "sha256:abc", Size: 42, Mode: 0o755}}},
		{RunID: 7, Index: 1, Stage: "test", Name: "unit", State: store.StepFailed, Attempts: 2, ExitCode: 1, Reason: "exit 1", PID: 99},
		{RunID: 7, Index: 2, Stage: "test", Name: "lint", State: store.StepPending},
	}
	release := &store.Release{ID: 3, Version: 2, Project: "web", RunID: 7, Branch: "main", Commit: "0123456789abcdef",
		Message: "Add \"checkout\" <page>\n\nbody", Author: "Ada", CommitTime: at, Bundle: "sha256:def",
		Pipeline: "stages: []\n", Flags: `{"flags":{}}`, CreatedAt: at}
	analysisJSON := []byte(`{"verdict":"fail","results":[{"check":"error_rate max 1%","verdict":"fail","value":"2.35%"}],"at":"2026-11-30T12:34:56Z"}`)
	rollout := &store.Rollout{ID: 5, Project: "web", Env: "production", ReleaseID: 3, FromReleaseID: 2, Strategy: "canary",
		State: store.RolloutProgressing, Step: 1, Steps: 3, Weight: 10, Baking: true, Failures: 1, Reason: "step 1: 10%",
		Analysis: analysisJSON, StepSince: at, CreatedAt: at, UpdatedAt: at.Add(time.Minute)}
	done := &store.Rollout{ID: 4, Project: "web", Env: "staging", ReleaseID: 2, Strategy: "direct", State: store.RolloutSucceeded,
		Step: 1, Steps: 1, Weight: 100, CreatedAt: at, UpdatedAt: at, FinishedAt: at.Add(time.Second)}
	events := []store.RolloutEvent{{RolloutID: 5, Time: at, State: store.RolloutProgressing, Step: 1, Weight: 10},
		{RolloutID: 5, Time: at.Add(time.Second), State: store.RolloutPaused, Step: 1, Weight: 10, Reason: "by alice"}}
	samples := []store.RolloutSample{{Time: at, Role: "canary", Requests: 340, Errors: 8, P99: 0.412, Span: 5 * time.Second},
		{Time: at, Role: "stable", Span: time.Second}}
	// What the data plane answered then, and what the local target reports of it now (deploy/local's tests
	// check that translation against a real data plane).
	running := []dataplane.ReleaseState{
		{ID: "3", Healthy: true, Instances: []dataplane.InstanceStatus{{State: dataplane.InstanceHealthy, PID: 4242, Port: 39001,
			Restarts: 1, LastExit: "exit status 2", Since: at}}, Last10s: &proxy.Summary{Requests: 100, Errors: 2, P50: 0.01,
			P90: 0.02, P95: 0.03, P99: 0.25, Span: 10 * time.Second}},
		{ID: "2", Instances: nil},
	}
	runningNow := []deploy.ReleaseStatus{
		{ID: "3", Healthy: true, Restarts: 1, Instances: []deploy.Instance{{State: deploy.InstanceHealthy, PID: 4242, Port: 39001,
			Restarts: 1, LastExit: "exit status 2", Since: at}}, Last10s: &deploy.Figures{Requests: 100, Errors: 2, P50: 0.01,
			P90: 0.02, P95: 0.03, P99: 0.25, Span: 10 * time.Second}},
		{ID: "2", Instances: nil}, // Reason is new (omitempty): TestReleaseViewSaysWhyNotHealthy
	}
	override := &store.FlagOverride{Project: "web", Env: "production", Flag: "new-checkout", Variant: "off", Actor: "alice", Time: at}
	flagRollout := &store.FlagRollout{ID: 9, Project: "web", Env: "production", Flag: "banner", ReleaseID: 3, Variant: "on",
		Spec: "on 1%,10%,100% every 10m", Step: 2, Steps: 3, Share: 1000, State: store.FlagProgressing, Reason: "step 2",
		StepSince: at, CreatedAt: at, UpdatedAt: at}
	flagEvents := []store.FlagRolloutEvent{{Time: at, State: store.FlagProgressing, Step: 1, Share: 100},
		{Time: at.Add(time.Minute), State: store.FlagProgressing, Step: 2, Share: 1000, Reason: "next step"}}
	variants := []api.VariantView{{Name: "on", Value: true}, {Name: "off", Value: false}}

	var history []dora.Rollout
	for i := range 12 {
		start := at.Add(-time.Duration(40-3*i) * 24 * time.Hour)
		r := dora.Rollout{ID: int64(i + 1), Release: int64(i + 1), State: dora.StateSucceeded, Started: start,
			Ended: start.Add(time.Minute), Commits: []dora.Commit{{SHA: string(rune('a' + i)), Time: start.Add(-time.Hour)}}}
		if i%4 == 3 {
			r.State, r.FailureDetected, r.Commits = dora.StateRolledBack, start.Add(30*time.Second), nil
		}
		history = append(history, r)
	}
	report := dora.Compute(history, at, 14*24*time.Hour)
	weekly := dora.Series(history, at, 7*24*time.Hour, 3)
	empty := dora.Compute(nil, at, 7*24*time.Hour)

	// Each release's version (v12 for ID 3): IDs and versions differ, as they do beside other projects.
	version := func(id int64) int64 {
		if id == 0 {
			return 0
		}
		return id + 9
	}
	oldRO := func(r *store.Rollout) *oldRollout {
		return &oldRollout{Rollout: r, ReleaseVersion: version(r.ReleaseID), FromReleaseVersion: version(r.FromReleaseID)}
	}
	newRO := func(r *store.Rollout) *api.Rollout {
		v := viewRollout(r)
		v.ReleaseVersion, v.FromReleaseVersion = version(r.ReleaseID), version(r.FromReleaseID)
		return v
	}
	oldRN := func(r *store.Run) oldRun { return oldRun{Run: r, ReleaseVersion: version(r.ReleaseID)} }
	newRN := func(r *store.Run) *api.Run {
		v := viewRun(r)
		v.ReleaseVersion = version(r.ReleaseID)
		return v
	}

	tests := []struct {
		name     string
		old, new any
		decoded  any // a pointer to the api type a client decodes into
	}{
		{"project", oldProject(project), viewProject(project), new(api.ProjectView)},
		{"bare project", oldProject(bare), viewProject(bare), new(api.ProjectView)},
		{"runs", []oldRun{oldRN(run), oldRN(queued)}, viewAll([]*store.Run{run, queued}, newRN), new([]*api.Run)},
		{"no runs", []*store.Run{}, viewAll([]*store.Run{}, viewRun), new([]*api.Run)},
		{"run view", oldRunView{oldRun: oldRN(run), Steps: steps}, api.RunView{Run: *newRN(run), Steps: viewAll(steps, viewStep)}, new(api.RunView)},
		{"run without steps", oldRunView{oldRun: oldRN(queued), Steps: []*store.Step{}},
			api.RunView{Run: *newRN(queued), Steps: viewAll([]*store.Step{}, viewStep)}, new(api.RunView)},
		{"releases", []*store.Release{release, {ID: 1, Project: "web", CreatedAt: at}},
			viewAll([]*store.Release{release, {ID: 1, Project: "web", CreatedAt: at}}, viewRelease), new([]*api.Release)},
		{"release view", map[string]any{"release": release, "files": steps[0].Artifacts},
			api.ReleaseView{Release: viewRelease(release), Files: viewAll(steps[0].Artifacts, viewArtifact)}, new(api.ReleaseView)},
		{"release view without files", map[string]any{"release": release, "files": []store.Artifact(nil)},
			api.ReleaseView{Release: viewRelease(release), Files: viewAll([]store.Artifact(nil), viewArtifact)}, new(api.ReleaseView)},
		{"secrets", []store.Secret{{Name: "API_KEY", UpdatedAt: at}}, viewAll([]store.Secret{{Name: "API_KEY", UpdatedAt: at}}, viewSecret),
			new([]api.Secret)},
		{"secret set", map[string]string{"name": "API_KEY"}, api.SecretSet{Name: "API_KEY"}, new(api.SecretSet)},
		{"audit", []store.AuditEntry{{ID: 1, Time: at, Actor: "alice", Action: "promote", Project: "web", Target: "production",
			Detail: "rollout 5"}, {ID: 2, Time: at, Actor: "bob", Action: "token.create"}},
			viewAll([]store.AuditEntry{{ID: 1, Time: at, Actor: "alice", Action: "promote", Project: "web", Target: "production",
				Detail: "rollout 5"}, {ID: 2, Time: at, Actor: "bob", Action: "token.create"}}, viewAuditEntry), new([]api.AuditEntry)},
		{"no audit", []store.AuditEntry(nil), viewAll([]store.AuditEntry(nil), viewAuditEntry), new([]api.AuditEntry)},
		{"notifications", []*store.Notification{{ID: 3, Sink: "webhook", URL: "https://hooks.example", Event: "run.failed",
			Project: "web", Payload: []byte(`{"run":7}`), State: "pending", Attempts: 2, LastError: "HTTP 500", NextAt: at,
			CreatedAt: at, UpdatedAt: at}}, viewAll([]*store.Notification{{ID: 3, Sink: "webhook", URL: "https://hooks.example",
			Event: "run.failed", Project: "web", Payload: []byte(`{"run":7}`), State: "pending", Attempts: 2, LastError: "HTTP 500",
			NextAt: at, CreatedAt: at, UpdatedAt: at}}, viewNotification), new([]api.Notification)},
		{"rollouts", []*oldRollout{oldRO(rollout), oldRO(done)}, viewAll([]*store.Rollout{rollout, done}, newRO), new([]*api.Rollout)},
		{"rollout action", oldRO(rollout), newRO(rollout), new(api.Rollout)},
		{"rollout view", oldRolloutView{oldRollout: *oldRO(rollout), Events: events, Samples: samples},
			api.RolloutView{Rollout: *newRO(rollout), Events: viewAll(events, viewRolloutEvent),
				Samples: viewAll(samples, viewRolloutSample)}, new(api.RolloutView)},
		{"rollout view without events", oldRolloutView{oldRollout: *oldRO(done), Samples: []store.RolloutSample{}},
			api.RolloutView{Rollout: *newRO(done), Events: viewAll([]store.RolloutEvent(nil), viewRolloutEvent),
				Samples: viewAll([]store.RolloutSample{}, viewRolloutSample)}, new(api.RolloutView)},
		{"status", oldProjectStatus{Project: "web", Environments: []oldEnvStatus{
			{Name: "production", LiveReleaseID: 2, PreviousReleaseID: 1, Rollout: oldRO(rollout), Analysis: analysisJSON,
				Listen: "127.0.0.1:8081", Running: running, LiveReleaseVersion: 11, PreviousReleaseVersion: 10},
			{Name: "staging", LiveReleaseID: 2, Rollout: oldRO(done), LiveReleaseVersion: 11},
			{Name: "qa"}}},
			api.ProjectStatus{Project: "web", Environments: []api.EnvStatus{
				{Name: "production", LiveReleaseID: 2, PreviousReleaseID: 1, Rollout: newRO(rollout), Analysis: analysisJSON,
					Listen: "127.0.0.1:8081", Running: viewAll(runningNow, viewReleaseStatus), LiveReleaseVersion: 11,
					PreviousReleaseVersion: 10},
				{Name: "staging", LiveReleaseID: 2, Rollout: newRO(done), LiveReleaseVersion: 11},
				{Name: "qa"}}}, new(api.ProjectStatus)},
		{"flags", oldFlagsView{Project: "web", Env: "production", ReleaseID: 3, ReleaseVersion: 12, Flags: []oldFlagView{
			{Key: "new-checkout", Type: "boolean", Variants: variants, Default: "off", Git: "on", Override: override, Drift: true},
			{Key: "banner", Type: "boolean", Variants: variants, Default: "off", Progressive: flagRollout.Spec, FlagRollout: flagRollout,
				Events: flagEvents},
			{Key: "old", Type: "string", Variants: []api.VariantView{{Name: "a", Value: "x"}}, Default: "a", Disabled: true, Git: "a"}}},
			api.FlagsView{Project: "web", Env: "production", ReleaseID: 3, ReleaseVersion: 12, Flags: []api.FlagView{
				{Key: "new-checkout", Type: "boolean", Variants: variants, Default: "off", Git: "on", Override: viewFlagOverride(override),
					Drift: true},
				{Key: "banner", Type: "boolean", Variants: variants, Default: "off", Progressive: flagRollout.Spec,
					FlagRollout: viewFlagRollout(flagRollout), Events: viewAll(flagEvents, viewFlagRolloutEvent)},
				{Key: "old", Type: "string", Variants: []api.VariantView{{Name: "a", Value: "x"}}, Default: "a", Disabled: true, Git: "a"}}},
			new(api.FlagsView)},
		{"no flags", oldFlagsView{Project: "web", Env: "qa", Flags: []oldFlagView{}},
			api.FlagsView{Project: "web", Env: "qa", Flags: []api.FlagView{}}, new(api.FlagsView)},
		{"override", override, viewFlagOverride(override), new(api.FlagOverride)},
		{"dora", oldDoraView{Project: "web", Window: "14d", Environments: []oldDoraEnvReport{
			{Env: "production", Report: report, Weekly: weekly}, {Env: "quiet", Report: empty}}},
			api.DoraView{Project: "web", Window: "14d", Environments: []api.DoraEnvReport{
				{Env: "production", Report: viewDoraReport(report), Weekly: viewAll(weekly, viewDoraReport)},
				{Env: "quiet", Report: viewDoraReport(empty)}}}, new(api.DoraView)},
		{"whoami", map[string]string{"name": "alice", "role": "admin"}, api.Whoami{Name: "alice", Role: "admin"}, new(api.Whoami)},
		{"webhook ignored", map[string]string{"status": "ignored", "reason": "push to refs/heads/x; project follows main"},
			api.WebhookAnswer{Status: "ignored", Reason: "push to refs/heads/x; project follows main"}, new(api.WebhookAnswer)},
		{"webhook queued", map[string]any{"status": "queued", "run": oldRN(queued)}, api.WebhookAnswer{Status: "queued", Run: viewRun(queued)},
			new(api.WebhookAnswer)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, got := encode(t, tt.old), encode(t, tt.new)
			if old, now := renamedKeys(t, old, true), renamedKeys(t, got, false); !bytes.Equal(old, now) {
				t.Fatalf("the view encodes differently from the record\nbefore:\n%s\nnow:\n%s", old, now)
			}
			if err := json.Unmarshal(got, tt.decoded); err != nil {
				t.Fatalf("decode into %T: %v", tt.decoded, err)
			}
			if again := encode(t, tt.decoded); !bytes.Equal(again, got) {
				t.Fatalf("decoding into %T and encoding again changes the JSON\nsent:\n%s\nagain:\n%s", tt.decoded, got, again)
			}
		})
	}
}

// renamedOn20261202 are the keys renamed on 2026-12-02 (docs/api.md, Changes): snake_case everywhere, and
// every duration a number of milliseconds, with how each old value becomes the new one.
var renamedOn20261202 = map[string]struct {
	key   string
	value func(float64) float64
}{
	"State": {"state", nil}, "PID": {"pid", nil}, "Port": {"port", nil}, "Restarts": {"restarts", nil},
	"LastExit": {"last_exit", nil}, "Since": {"since", nil}, "LastProbe": {"last_probe", nil}, "LastOutput": {"last_output", nil},
	"Requests": {"requests", nil}, "Errors": {"errors", nil},
	"P50": {"p50_ms", seconds}, "P90": {"p90_ms", seconds}, "P95": {"p95_ms", seconds}, "P99": {"p99_ms", seconds},
	"Span":    {"span_ms", nanoseconds},
	"p99":     {"p99_ms", seconds}, // a rollout's samples
	"span":    {"span_ms", nanoseconds},
	"seconds": {"ms", seconds}, // DORA's durations
}

func seconds(s float64) float64      { return s * 1000 }
func nanoseconds(ns float64) float64 { return ns / float64(time.Millisecond) }

// renamedKeys rewrites JSON, keeping the order of its keys: with rename, the keys renamed on 2026-12-02 to
// their new names and units; either way the layout is the same, so two answers compare byte for byte.
func renamedKeys(t *testing.T, data []byte, rename bool) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out bytes.Buffer
	var value func(conv func(float64) float64)
	value = func(conv func(float64) float64) {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		switch v := tok.(type) {
		case json.Delim:
			out.WriteString(v.String())
			for first := true; dec.More(); first = false {
				if !first {
					out.WriteByte(',')
				}
				var c func(float64) float64
				if v == '{' {
					k, err := dec.Token()
					if err != nil {
						t.Fatal(err)
					}
					key := k.(string)
					if r, ok := renamedOn20261202[key]; ok && rename {
						key, c = r.key, r.value
					}
					b, _ := json.Marshal(key)
					out.Write(b)
					out.WriteByte(':')
				}
				value(c)
			}
			end, _ := dec.Token()
			out.WriteString(end.(json.Delim).String())
		case json.Number:
			if conv == nil {
				out.WriteString(v.String())
				break
			}
			f, _ := v.Float64()
			b, _ := json.Marshal(conv(f))
			out.Write(b)
		default:
			b, _ := json.Marshal(v)
			out.Write(b)
		}
	}
	value(nil)
	var indented bytes.Buffer
	if err := json.Indent(&indented, out.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	return indented.Bytes()
}

// encode writes v as the handlers do.
func encode(t *testing.T, v any) []byte {
	t.Helper()
	w := httptest.NewRecorder()
	writeJSON(w, 200, v)
	return w.Body.Bytes()
}

func TestReleaseViewSaysWhyNotHealthy(t *testing.T) {
	v := viewReleaseStatus(deploy.ReleaseStatus{ID: "4", Reason: "0 of 1 instances healthy: GET /healthz answered 404 (instance 0)",
		Instances: []deploy.Instance{{State: deploy.InstanceStarting, LastProbe: "GET /healthz answered 404", LastOutput: []string{"listening on 8080"}}}})
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"reason":"0 of 1 instances healthy: GET /healthz answered 404 (instance 0)"`,
		`"last_probe":"GET /healthz answered 404"`, `"last_output":["listening on 8080"]`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("view %s lacks %s", got, want)
		}
	}
}
