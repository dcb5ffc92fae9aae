package server

import (
	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/dora"
	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// The handlers answer with the wire types of internal/api; these functions translate ferry's records into
// them. A view's JSON is exactly what the record's was (views_test.go checks it byte for byte), so nil slices
// stay nil (null) and empty ones empty ([]).

// viewAll translates a slice, keeping nil nil.
func viewAll[S, T any](in []S, view func(S) T) []T {
	if in == nil {
		return nil
	}
	out := make([]T, len(in))
	for i, s := range in {
		out[i] = view(s)
	}
	return out
}

func viewProject(p *store.Project) api.ProjectView {
	poll := "off"
	if p.Poll > 0 {
		poll = p.Poll.String()
	}
	// The repository URL is shown without the credentials an older project may hold in it.
	v := api.ProjectView{Name: p.Name, Repo: source.Redact(p.Repo), Branch: p.Branch, Concurrency: p.Concurrency,
		Head: p.Head, CreatedAt: p.CreatedAt, Status: api.StatusTarget(p.Status), Poll: poll, Webhook: p.WebhookSecret != ""}
	for _, n := range p.Notify {
		v.Notify = append(v.Notify, api.NotifySink{Kind: n.Kind, URL: redactURL(n.URL)})
	}
	return v
}

func viewRun(r *store.Run) *api.Run {
	if r == nil {
		return nil
	}
	return &api.Run{ID: r.ID, Project: r.Project, Branch: r.Branch, Commit: r.Commit, Trigger: r.Trigger,
		State: api.RunState(r.State), Reason: r.Reason, FailedStep: r.FailedStep, ReleaseID: r.ReleaseID,
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
}

func viewStep(s *store.Step) *api.Step {
	return &api.Step{RunID: s.RunID, Index: s.Index, Stage: s.Stage, Name: s.Name, State: api.StepState(s.State),
		Attempts: s.Attempts, ExitCode: s.ExitCode, Reason: s.Reason,
		Metrics: viewAll(s.Metrics, func(m gate.Metric) api.Metric {
			return api.Metric{Name: m.Name, Value: m.Value, Unit: m.Unit, Direction: m.Direction.String()}
		}),
		Verdicts:  viewAll(s.Verdicts, func(v gate.Verdict) api.GateVerdict { return api.GateVerdict(v) }),
		Artifacts: viewAll(s.Artifacts, viewArtifact),
		StartedAt: s.StartedAt, FinishedAt: s.FinishedAt}
}

func viewArtifact(a store.Artifact) api.Artifact { return api.Artifact(a) }

func viewRelease(r *store.Release) *api.Release {
	if r == nil {
		return nil
	}
	v := api.Release(*r)
	return &v
}

func viewSecret(s store.Secret) api.Secret { return api.Secret(s) }

func viewAuditEntry(e store.AuditEntry) api.AuditEntry { return api.AuditEntry(e) }

func viewNotification(n *store.Notification) api.Notification {
	return api.Notification{ID: n.ID, Sink: n.Sink, URL: n.URL, Event: n.Event, Project: n.Project, Payload: n.Payload,
		State: api.NotificationState(n.State), Attempts: n.Attempts, LastError: n.LastError, NextAt: n.NextAt,
		CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt}
}

func viewRollout(r *store.Rollout) *api.Rollout {
	if r == nil {
		return nil
	}
	return &api.Rollout{ID: r.ID, Project: r.Project, Env: r.Env, ReleaseID: r.ReleaseID, FromReleaseID: r.FromReleaseID,
		Strategy: api.RolloutStrategy(r.Strategy), State: api.RolloutState(r.State), Step: r.Step, Steps: r.Steps, Weight: r.Weight,
		Baking: r.Baking, Failures: r.Failures, Reason: r.Reason, Analysis: r.Analysis, StepSince: r.StepSince,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt}
}

func viewRolloutEvent(e store.RolloutEvent) api.RolloutEvent {
	return api.RolloutEvent{RolloutID: e.RolloutID, Time: e.Time, State: api.RolloutState(e.State), Step: e.Step,
		Weight: e.Weight, Reason: e.Reason}
}

func viewRolloutSample(s store.RolloutSample) api.RolloutSample {
	return api.RolloutSample{Time: s.Time, Role: s.Role, Requests: s.Requests, Errors: s.Errors,
		P99MS: s.P99 * 1000, SpanMS: api.Millis(s.Span)}
}

// viewReleaseStatus is what a target says of one release it runs.
func viewReleaseStatus(r deploy.ReleaseStatus) api.ReleaseState {
	v := api.ReleaseState{ID: r.ID, Healthy: r.Healthy, Reason: r.Reason,
		Instances: viewAll(r.Instances, func(s deploy.Instance) api.InstanceStatus {
			return api.InstanceStatus{State: api.InstanceState(s.State), PID: s.PID, Port: s.Port, Restarts: s.Restarts,
				LastExit: s.LastExit, Since: s.Since, LastProbe: s.LastProbe, LastOutput: s.LastOutput}
		})}
	if s := r.Last10s; s != nil {
		v.Last10s = &api.TrafficSummary{Requests: s.Requests, Errors: s.Errors, P50MS: s.P50 * 1000, P90MS: s.P90 * 1000,
			P95MS: s.P95 * 1000, P99MS: s.P99 * 1000, SpanMS: api.Millis(s.Span)}
	}
	return v
}

func viewFlagOverride(o *store.FlagOverride) *api.FlagOverride {
	if o == nil {
		return nil
	}
	v := api.FlagOverride(*o)
	return &v
}

func viewFlagRollout(r *store.FlagRollout) *api.FlagRollout {
	if r == nil {
		return nil
	}
	return &api.FlagRollout{ID: r.ID, Project: r.Project, Env: r.Env, Flag: r.Flag, ReleaseID: r.ReleaseID,
		Variant: r.Variant, Spec: r.Spec, Step: r.Step, Steps: r.Steps, Share: r.Share,
		State: api.FlagRolloutState(r.State), Reason: r.Reason, StepSince: r.StepSince, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt}
}

func viewFlagRolloutEvent(e store.FlagRolloutEvent) api.FlagRolloutEvent {
	return api.FlagRolloutEvent{Time: e.Time, State: api.FlagRolloutState(e.State), Step: e.Step, Share: e.Share,
		Reason: e.Reason}
}

func viewDoraReport(r dora.Report) api.DoraReport {
	v := api.DoraReport{From: r.From, To: r.To, Window: *viewDoraDuration(&r.Window),
		DeploymentFrequency: api.DeploymentFrequency{Deployments: r.DeploymentFrequency.Deployments,
			PerDay: r.DeploymentFrequency.PerDay, PerWeek: r.DeploymentFrequency.PerWeek,
			DeployDays: r.DeploymentFrequency.DeployDays, DeployDaysPerWeek: r.DeploymentFrequency.DeployDaysPerWeek,
			Tier: api.DoraTier(r.DeploymentFrequency.Tier)},
		LeadTime: api.LeadTime{Count: r.LeadTime.Count, Median: viewDoraDuration(r.LeadTime.Median),
			P90: viewDoraDuration(r.LeadTime.P90), Tier: api.DoraTier(r.LeadTime.Tier)},
		ChangeFailureRate: api.ChangeFailureRate{Deployments: r.ChangeFailureRate.Deployments,
			Failures: r.ChangeFailureRate.Failures, Rate: r.ChangeFailureRate.Rate,
			Tier: api.DoraTier(r.ChangeFailureRate.Tier), FailedRollouts: r.ChangeFailureRate.FailedRollouts},
		RecoveryTime: api.RecoveryTime{Count: r.RecoveryTime.Count, Median: viewDoraDuration(r.RecoveryTime.Median),
			Tier: api.DoraTier(r.RecoveryTime.Tier), FromDetection: viewDoraDuration(r.RecoveryTime.FromDetection),
			FirstFailureSeen: r.RecoveryTime.FirstFailureSeen},
		ReworkRate: api.ReworkRate(r.ReworkRate),
	}
	if r.Previous != nil {
		p := viewDoraReport(*r.Previous)
		v.Previous = &p
	}
	if t := r.Trend; t != nil {
		v.Trend = &api.DoraTrend{DeploymentFrequency: api.DoraDirection(t.DeploymentFrequency),
			LeadTime: api.DoraDirection(t.LeadTime), ChangeFailureRate: api.DoraDirection(t.ChangeFailureRate),
			RecoveryTime: api.DoraDirection(t.RecoveryTime), ReworkRate: api.DoraDirection(t.ReworkRate)}
	}
	return v
}

func viewDoraDuration(d *dora.Duration) *api.DoraDuration {
	if d == nil {
		return nil
	}
	return &api.DoraDuration{MS: d.Seconds * 1000, Text: d.Text}
}
