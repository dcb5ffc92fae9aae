package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/store"
)

// projectStatus answers each environment's live and previous release, its latest rollout (the one in flight
// before a newer ended one) with its analysis, and what its target runs there.
func (s *Server) projectStatus(r *http.Request, project string, _ none) (*api.ProjectStatus, error) {
	ctx := r.Context()
	envs, err := s.store.ListEnvironments(ctx, project)
	if err != nil {
		return nil, storeFailure(err, "status")
	}
	rollouts, err := s.store.ListRollouts(ctx, project, "", 200)
	if err != nil {
		return nil, storeFailure(err, "status")
	}
	byName := map[string]*api.EnvStatus{}
	for _, e := range envs {
		byName[e.Name] = &api.EnvStatus{Name: e.Name, LiveReleaseID: e.LiveReleaseID, PreviousReleaseID: e.PreviousReleaseID}
	}
	for _, ro := range rollouts { // newest first
		es := byName[ro.Env]
		if es == nil {
			es = &api.EnvStatus{Name: ro.Env}
			byName[ro.Env] = es
		}
		if es.Rollout == nil || es.Rollout.State.Done() && !ro.State.Done() {
			es.Rollout = viewRollout(ro)
		}
	}
	st := &api.ProjectStatus{Project: project, Environments: []api.EnvStatus{}}
	for _, es := range byName {
		if es.Rollout != nil && len(es.Rollout.Analysis) > 0 {
			es.Analysis = json.RawMessage(es.Rollout.Analysis)
		}
		st.Environments = append(st.Environments, *es)
	}
	sort.Slice(st.Environments, func(i, j int) bool { return st.Environments[i].Name < st.Environments[j].Name })
	if s.target != nil {
		if ts, err := s.target.Status(ctx); err == nil {
			for i := range st.Environments {
				es := &st.Environments[i]
				if e := ts.Env(store.EnvKey{Project: project, Env: es.Name}); e != nil {
					es.Listen, es.Running = e.Address, viewAll(e.Releases, viewReleaseStatus)
					if e.Traffic.Mode != "" {
						es.Traffic = &api.Traffic{Mode: e.Traffic.Mode, Message: e.Traffic.Message, TimeoutMS: e.Traffic.Timeout.Milliseconds()}
					}
				}
			}
		}
	}
	return st, nil
}

func (s *Server) listRollouts(r *http.Request, project string, _ none) ([]*api.Rollout, error) {
	env := r.URL.Query().Get("env")
	rs, err := s.store.ListRollouts(r.Context(), project, env, queryLimit(r, 50))
	if err != nil {
		return nil, storeFailure(err, "rollouts")
	}
	// No rollout in an environment the project does not have is a 404 naming those it has, not an empty list.
	if len(rs) == 0 && env != "" {
		if _, err := s.flagsEnvExists(r.Context(), project, env); err != nil {
			return nil, err
		}
	}
	if rs == nil {
		rs = []*store.Rollout{}
	}
	return viewAll(rs, viewRollout), nil
}

func (s *Server) getRollout(r *http.Request, _ none) (*api.RolloutView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	ro, err := s.store.GetRollout(r.Context(), id)
	if err != nil {
		return nil, storeFailure(err, fmt.Sprintf("rollout %d", id))
	}
	evs, err := s.store.RolloutEvents(r.Context(), id)
	if err != nil {
		return nil, storeFailure(err, "rollout events")
	}
	samples, err := s.store.RolloutSamples(r.Context(), id)
	if err != nil {
		return nil, storeFailure(err, "rollout samples")
	}
	if samples == nil {
		samples = []store.RolloutSample{}
	}
	return &api.RolloutView{Rollout: *viewRollout(ro), Events: viewAll(evs, viewRolloutEvent),
		Samples: viewAll(samples, viewRolloutSample)}, nil
}

// rolloutAction takes a human's action on the environment's rollout in flight (or, for rollback, on its live
// release).
func (s *Server) rolloutAction(r *http.Request, project string, req api.ActionRequest) (*api.Rollout, error) {
	env, action := r.PathValue("env"), r.PathValue("action")
	who := "api"
	if t := caller(r.Context()); t != nil {
		who = t.Name
	}
	var ro *store.Rollout
	var err error
	switch action {
	case "promote":
		ro, err = s.rollouts.Promote(r.Context(), project, env, who)
	case "pause":
		ro, err = s.rollouts.Pause(r.Context(), project, env, who)
	case "resume":
		ro, err = s.rollouts.Resume(r.Context(), project, env, who)
	case "abort":
		ro, err = s.rollouts.Abort(r.Context(), project, env, who)
	case "rollback":
		ro, err = s.rollouts.Rollback(r.Context(), project, env, req.To, who)
	default:
		return nil, fail(http.StatusNotFound, "no action %q: use promote, pause, resume, abort or rollback", action)
	}
	switch {
	case errors.Is(err, rollout.ErrNoRollout):
		return nil, fail(http.StatusConflict, "%s: no rollout in flight in %s", action, env)
	case err != nil:
		return nil, fail(http.StatusConflict, "%s: %v", action, err)
	}
	s.audit(r, action, project, env, fmt.Sprintf("rollout %d of release %d", ro.ID, ro.ReleaseID))
	s.rollouts.Wake()
	return viewRollout(ro), nil
}
