package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"

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
	vs := s.versions(ctx)
	byName := map[string]*api.EnvStatus{}
	for _, e := range envs {
		byName[e.Name] = &api.EnvStatus{Name: e.Name, LiveReleaseID: e.LiveReleaseID, PreviousReleaseID: e.PreviousReleaseID,
			LiveReleaseVersion: vs.of(e.LiveReleaseID), PreviousReleaseVersion: vs.of(e.PreviousReleaseID)}
	}
	for _, ro := range rollouts { // newest first
		es := byName[ro.Env]
		if es == nil {
			es = &api.EnvStatus{Name: ro.Env}
			byName[ro.Env] = es
		}
		if es.Rollout == nil || es.Rollout.State.Done() && !ro.State.Done() {
			es.Rollout = vs.rollout(viewRollout(ro))
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
					es.Drift = viewAll(e.Drift, viewDrift)
					es.Certificates = viewAll(e.Certificates, viewCertificate)
					for i := range es.Drift {
						if es.Drift[i].Release != "" {
							es.Drift[i].ReleaseVersion = vs.ofName(es.Drift[i].Release)
						}
					}
					for i := range es.Running {
						es.Running[i].Version = vs.ofName(es.Running[i].ID)
					}
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
	return each(viewAll(rs, viewRollout), s.versions(r.Context()).rollout), nil
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
	return &api.RolloutView{Rollout: *s.versions(r.Context()).rollout(viewRollout(ro)), Events: viewAll(evs, viewRolloutEvent),
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
		// To is the version users see; the controller goes by the store's IDs.
		var to int64
		if req.To < 0 {
			return nil, fail(http.StatusBadRequest, "rollback: to %d: give a release's version (7 for v7), or 0 for the previous one", req.To)
		}
		if req.To > 0 {
			rel, err := s.releaseByVersion(r.Context(), project, strconv.FormatInt(req.To, 10))
			if err != nil {
				return nil, err
			}
			to = rel.ID
		}
		ro, err = s.rollouts.Rollback(r.Context(), project, env, to, who)
	default:
		return nil, fail(http.StatusNotFound, "no action %q: use promote, pause, resume, abort or rollback", action)
	}
	switch {
	case errors.Is(err, rollout.ErrNoRollout):
		return nil, fail(http.StatusConflict, "%s: no rollout in flight in %s", action, env)
	case err != nil:
		return nil, fail(http.StatusConflict, "%s: %v", action, err)
	}
	v := s.versions(r.Context()).rollout(viewRollout(ro))
	s.audit(r, action, project, env, fmt.Sprintf("rollout %d of release %s", ro.ID, api.VersionText(v.ReleaseVersion)))
	s.rollouts.Wake()
	return v, nil
}
