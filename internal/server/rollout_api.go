package server

import (
	"context"
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

func (s *Server) rolloutRoutes(api *http.ServeMux) {
	api.HandleFunc("GET /api/v1/projects/{name}/status", s.handleStatus)
	api.HandleFunc("GET /api/v1/projects/{name}/rollouts", s.handleListRollouts)
	api.HandleFunc("GET /api/v1/rollouts/{id}", s.handleGetRollout)
	api.HandleFunc("POST /api/v1/projects/{name}/environments/{env}/{action}", s.handleRolloutAction)
	api.HandleFunc("GET /api/v1/projects/{name}/dora", s.handleDora)
}

func (s *Server) projectStatus(ctx context.Context, project string) (*api.ProjectStatus, error) {
	envs, err := s.store.ListEnvironments(ctx, project)
	if err != nil {
		return nil, err
	}
	rollouts, err := s.store.ListRollouts(ctx, project, "", 200)
	if err != nil {
		return nil, err
	}
	byName := map[string]*api.EnvStatus{}
	for _, e := range envs {
		byName[e.Name] = &api.EnvStatus{Name: e.Name, LiveReleaseID: e.LiveReleaseID, PreviousReleaseID: e.PreviousReleaseID}
	}
	for _, r := range rollouts { // newest first
		es := byName[r.Env]
		if es == nil {
			es = &api.EnvStatus{Name: r.Env}
			byName[r.Env] = es
		}
		if es.Rollout == nil || es.Rollout.State.Done() && !r.State.Done() {
			es.Rollout = viewRollout(r)
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
	if client, err := s.dataplane.get(ctx, false); err == nil && client != nil {
		if dp, err := client.State(ctx); err == nil {
			for i := range st.Environments {
				es := &st.Environments[i]
				for _, e := range dp.Environments {
					if e.Name == (store.EnvKey{Project: project, Env: es.Name}).String() {
						es.Listen, es.Running = e.Listen, viewAll(e.Releases, viewReleaseState)
					}
				}
			}
		}
	}
	return st, nil
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	name, ok := s.requireProject(w, r)
	if !ok {
		return
	}
	st, err := s.projectStatus(r.Context(), name)
	if err != nil {
		writeStoreError(w, err, "status")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleListRollouts(w http.ResponseWriter, r *http.Request) {
	name, ok := s.requireProject(w, r)
	if !ok {
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 50
	}
	rs, err := s.store.ListRollouts(r.Context(), name, r.URL.Query().Get("env"), limit)
	if err != nil {
		writeStoreError(w, err, "rollouts")
		return
	}
	if rs == nil {
		rs = []*store.Rollout{}
	}
	writeJSON(w, http.StatusOK, viewAll(rs, viewRollout))
}

func (s *Server) handleGetRollout(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	ro, err := s.store.GetRollout(r.Context(), id)
	if err != nil {
		writeStoreError(w, err, fmt.Sprintf("rollout %d", id))
		return
	}
	evs, err := s.store.RolloutEvents(r.Context(), id)
	if err != nil {
		writeStoreError(w, err, "rollout events")
		return
	}
	samples, err := s.store.RolloutSamples(r.Context(), id)
	if err != nil {
		writeStoreError(w, err, "rollout samples")
		return
	}
	if samples == nil {
		samples = []store.RolloutSample{}
	}
	writeJSON(w, http.StatusOK, api.RolloutView{Rollout: *viewRollout(ro), Events: viewAll(evs, viewRolloutEvent),
		Samples: viewAll(samples, viewRolloutSample)})
}

func (s *Server) handleRolloutAction(w http.ResponseWriter, r *http.Request) {
	project, env, action := r.PathValue("name"), r.PathValue("env"), r.PathValue("action")
	if _, err := s.store.GetProject(r.Context(), project); err != nil {
		writeStoreError(w, err, "project "+project)
		return
	}
	var req api.ActionRequest
	if !decodeBody(w, r, &req) {
		return
	}
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
		writeError(w, http.StatusNotFound, "no action %q: use promote, pause, resume, abort or rollback", action)
		return
	}
	switch {
	case errors.Is(err, rollout.ErrNoRollout):
		writeError(w, http.StatusConflict, "%s: no rollout in flight in %s", action, env)
	case err != nil:
		writeError(w, http.StatusConflict, "%s: %v", action, err)
	default:
		s.audit(r, action, project, env, fmt.Sprintf("rollout %d of release %d", ro.ID, ro.ReleaseID))
		s.rollouts.Wake()
		writeJSON(w, http.StatusAccepted, viewRollout(ro))
	}
}
