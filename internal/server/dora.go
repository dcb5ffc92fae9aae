package server

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/dora"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// dora answers the project's DORA figures over ?window= (30d by default) ending at ?end= (now), with
// ?weeks= weekly points when asked.
func (s *Server) dora(r *http.Request, project string, _ none) (*api.DoraView, error) {
	windowText := r.URL.Query().Get("window")
	if windowText == "" {
		windowText = "30d"
	}
	window, err := dora.ParseWindow(windowText)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "invalid window %q: %v", windowText, err)
	}
	end := time.Now()
	if e := r.URL.Query().Get("end"); e != "" {
		if end, err = time.Parse(time.RFC3339Nano, e); err != nil {
			return nil, fail(http.StatusBadRequest, "invalid end %q: want an RFC 3339 time such as 2026-11-01T00:00:00Z", e)
		}
	}
	weeks := 0
	if text := r.URL.Query().Get("weeks"); text != "" {
		if weeks, err = strconv.Atoi(text); err != nil || weeks < 1 || weeks > 104 {
			return nil, fail(http.StatusBadRequest, "invalid weeks %q: a number from 1 to 104", text)
		}
	}
	view, err := s.doraReport(r.Context(), project, window, end, weeks)
	if err != nil {
		return nil, storeFailure(err, "dora")
	}
	view.Window = windowText
	return view, nil
}

// doraReport turns the project's production rollouts into DORA input: exact times from the rollout events,
// and the commits each release brought from the git mirror.
func (s *Server) doraReport(ctx context.Context, project string, window time.Duration, now time.Time, weeks int) (*api.DoraView, error) {
	rollouts, err := s.store.ListRollouts(ctx, project, "", 0)
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetProject(ctx, project)
	if err != nil {
		return nil, err
	}
	byEnv := map[string][]dora.Rollout{}
	production := map[string]bool{}
	for _, ro := range rollouts {
		rel, err := s.store.GetRelease(ctx, ro.ReleaseID)
		if err != nil {
			continue
		}
		pl, err := pipeline.Parse(pipeline.FileName, []byte(rel.Pipeline))
		if err != nil {
			continue
		}
		env := pl.Environment(ro.Env)
		if env == nil || !env.Production {
			continue
		}
		production[ro.Env] = true
		dr, err := s.doraRollout(ctx, p, ro, rel)
		if err != nil {
			return nil, err
		}
		byEnv[ro.Env] = append(byEnv[ro.Env], dr)
	}
	view := &api.DoraView{Project: project, Environments: []api.DoraEnvReport{}}
	for env := range production {
		rs := byEnv[env]
		sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
		er := api.DoraEnvReport{Env: env, Report: viewDoraReport(dora.Compute(rs, now, window))}
		if weeks > 0 {
			er.Weekly = viewAll(dora.Series(rs, now, 7*24*time.Hour, weeks), viewDoraReport)
		}
		view.Environments = append(view.Environments, er)
	}
	sort.Slice(view.Environments, func(i, j int) bool { return view.Environments[i].Env < view.Environments[j].Env })
	return view, nil
}

func (s *Server) doraRollout(ctx context.Context, p *store.Project, ro *store.Rollout, rel *store.Release) (dora.Rollout, error) {
	dr := dora.Rollout{ID: ro.ID, Release: ro.ReleaseID, Rollback: ro.Strategy == store.StrategyRollback,
		State: string(ro.State), Ended: ro.FinishedAt}
	events, err := s.store.RolloutEvents(ctx, ro.ID)
	if err != nil {
		return dr, err
	}
	for _, e := range events {
		if dr.Started.IsZero() && e.State == store.RolloutProgressing {
			dr.Started = e.Time
		}
		if dr.FailureDetected.IsZero() && (strings.HasPrefix(e.Reason, "analysis failed") ||
			e.State == store.RolloutAborted || e.State == store.RolloutRolledBack) {
			dr.FailureDetected = e.Time
		}
	}
	if ro.State == store.RolloutRolledBack || ro.State == store.RolloutAborted {
		samples, err := s.store.RolloutSamples(ctx, ro.ID)
		if err != nil {
			return dr, err
		}
		for _, x := range samples {
			dr.Samples = append(dr.Samples, dora.Sample{Time: x.Time, Span: x.Span, Role: x.Role, Errors: x.Errors})
		}
	}
	if ro.State == store.RolloutSucceeded && !dr.Rollback {
		from := ""
		if ro.FromReleaseID != 0 {
			if prev, err := s.store.GetRelease(ctx, ro.FromReleaseID); err == nil {
				from = prev.Commit
			}
		}
		unlock := s.runs.LockMirror(p.Name)
		commits, err := s.runs.Mirror(ctx, p).Commits(ctx, from, rel.Commit)
		unlock()
		if err != nil {
			// The mirror lost that history: the release's own commit still counts.
			commits = []source.Commit{{ID: rel.Commit, Time: rel.CommitTime}}
		}
		for _, c := range commits {
			dr.Commits = append(dr.Commits, dora.Commit{SHA: c.ID, Time: c.Time})
		}
	}
	return dr, nil
}
