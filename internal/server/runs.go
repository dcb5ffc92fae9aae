package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/runs"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
	"github.com/ferry-cd/ferry/internal/yamlfile"
)

func (s *Server) trigger(r *http.Request, req api.TriggerRequest) (*api.Run, error) {
	if req.Commit != "" && !source.ValidCommit(req.Commit) {
		return nil, fail(http.StatusBadRequest, "invalid commit %q: give a hexadecimal commit id", req.Commit)
	}
	name, err := s.project(r)
	if err != nil {
		return nil, err
	}
	run, err := s.runs.Enqueue(r.Context(), name, req.Commit, "manual")
	if err != nil {
		return nil, fail(http.StatusUnprocessableEntity, "%v", err)
	}
	s.audit(r, "trigger", name, "run "+strconv.FormatInt(run.ID, 10), run.Commit)
	return viewRun(run), nil
}

func (s *Server) listRuns(r *http.Request, project string, _ none) ([]*api.Run, error) {
	runs, err := s.store.ListRuns(r.Context(), project, queryLimit(r, 50))
	if err != nil {
		return nil, storeFailure(err, "runs")
	}
	if runs == nil {
		runs = []*store.Run{}
	}
	return each(viewAll(runs, viewRun), s.versions(r.Context()).run), nil
}

func (s *Server) getRun(r *http.Request, _ none) (*api.RunView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	run, err := s.store.GetRun(r.Context(), id)
	if err != nil {
		return nil, storeFailure(err, fmt.Sprintf("run %d", id))
	}
	steps, err := s.store.ListSteps(r.Context(), id)
	if err != nil {
		return nil, storeFailure(err, "steps")
	}
	if steps == nil {
		steps = []*store.Step{}
	}
	return &api.RunView{Run: *s.versions(r.Context()).run(viewRun(run)), Steps: viewAll(steps, viewStep)}, nil
}

func (s *Server) cancelRun(r *http.Request, _ none) (*api.Run, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	run, err := s.runs.Cancel(r.Context(), id)
	if err != nil {
		return nil, storeFailure(err, fmt.Sprintf("run %d", id))
	}
	s.audit(r, "run.cancel", run.Project, "run "+strconv.FormatInt(id, 10), string(run.State))
	return s.versions(r.Context()).run(viewRun(run)), nil
}

// handleLogs streams a run's log as JSON lines (application/x-ndjson), each flushed as it is written. With
// follow=1 the answer stays open until the run ends.
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeFailure(w, err)
		return
	}
	run, err := s.store.GetRun(r.Context(), id)
	if err != nil {
		writeStoreError(w, err, fmt.Sprintf("run %d", id))
		return
	}
	q := r.URL.Query()
	if err := s.checkLogStep(r.Context(), run, q.Get("step")); err != nil {
		writeFailure(w, err)
		return
	}
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	pending := 0
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.streams, cancel)()
	err = s.runs.FollowLog(ctx, id, q.Get("step"), follow, func(ln runs.LogLine) error {
		if err := enc.Encode(api.LogLine{Time: ln.Time, Step: ln.Step, Text: ln.Text}); err != nil {
			return err
		}
		pending++
		if pending >= 256 {
			pending = 0
			return rc.Flush()
		}
		return nil
	}, func() { rc.Flush(); pending = 0 })
	if err != nil {
		s.log.Debug("logs stream ended", "run", id, "err", err)
	}
	rc.Flush()
}

// checkLogStep refuses a step the run does not have, naming those it has, so that a typo is not an empty log.
// A run whose steps are not known yet (queued, or reading its pipeline) may still have it.
func (s *Server) checkLogStep(ctx context.Context, run *store.Run, step string) error {
	if step == "" {
		return nil
	}
	steps, err := s.store.ListSteps(ctx, run.ID)
	if err != nil {
		return storeFailure(err, "steps")
	}
	if len(steps) == 0 && !run.State.Done() {
		return nil
	}
	names := make([]string, 0, len(steps))
	full := map[string]string{} // what a typo may be close to: the full name and the bare one
	for _, st := range steps {
		if st.FullName() == step || st.Name == step {
			return nil
		}
		names = append(names, st.FullName())
		full[st.FullName()], full[st.Name] = st.FullName(), st.FullName()
	}
	if len(names) == 0 {
		return fail(http.StatusNotFound, "run %d has no step %q: it ended (%s) before any step was recorded", run.ID, step, run.State)
	}
	hint := ""
	if c := yamlfile.Closest(step, slices.Sorted(maps.Keys(full))); c != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", full[c])
	}
	return fail(http.StatusNotFound, "run %d has no step %q%s: its steps are %s", run.ID, step, hint, strings.Join(names, ", "))
}
