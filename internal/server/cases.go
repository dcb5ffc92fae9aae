package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/evals"
	"github.com/ferry-cd/ferry/internal/store"
)

// runCases answers the evaluation cases of each step of a run beside the same step's in the run its gates
// compared with.
func (s *Server) runCases(r *http.Request, _ none) (*api.RunCases, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.GetRun(r.Context(), id); err != nil {
		return nil, storeFailure(err, fmt.Sprintf("run %d", id))
	}
	sets, err := s.store.ListCases(r.Context(), id)
	if err != nil {
		return nil, storeFailure(err, "cases")
	}
	out := &api.RunCases{Run: id, Steps: []api.StepCases{}}
	baselines := map[int64][]*store.CaseSet{}
	for _, set := range sets {
		base, err := s.baselineSet(r, set, baselines)
		if err != nil {
			return nil, err
		}
		var baseCases []evals.Case
		if base != nil {
			baseCases = base.Cases
		}
		changes := evals.Compare(set.Cases, baseCases)
		sc := api.StepCases{Index: set.Index, Step: set.Stage + "/" + set.Name, BaselineRun: set.BaselineRun,
			Counts: map[api.CaseStatus]int{}, Cases: make([]api.CaseChange, 0, len(changes))}
		for st, n := range evals.Tally(changes) {
			sc.Counts[api.CaseStatus(st.String())] = n
		}
		for _, ch := range changes {
			sc.Cases = append(sc.Cases, viewCaseChange(ch))
		}
		out.Steps = append(out.Steps, sc)
	}
	return out, nil
}

// baselineSet finds the case set of set's step in the run its gates compared with; nil without one. The
// step is found by stage and name: the baseline's pipeline may have had other steps before it.
func (s *Server) baselineSet(r *http.Request, set *store.CaseSet, cache map[int64][]*store.CaseSet) (*store.CaseSet, error) {
	if set.BaselineRun == 0 {
		return nil, nil
	}
	sets, ok := cache[set.BaselineRun]
	if !ok {
		var err error
		if sets, err = s.store.ListCases(r.Context(), set.BaselineRun); err != nil {
			return nil, storeFailure(err, "baseline cases")
		}
		cache[set.BaselineRun] = sets
	}
	for _, b := range sets {
		if b.Stage == set.Stage && b.Name == set.Name {
			return b, nil
		}
	}
	return nil, nil
}

// getCase answers one case of a step of a run whole, with the baseline's case of the same id.
func (s *Server) getCase(r *http.Request, _ none) (*api.CaseView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 {
		return nil, fail(http.StatusBadRequest, "invalid step index %q: give the step's index in the run", r.PathValue("index"))
	}
	caseID := r.PathValue("case")
	sets, err := s.store.ListCases(r.Context(), id)
	if err != nil {
		return nil, storeFailure(err, "cases")
	}
	var set *store.CaseSet
	for _, cs := range sets {
		if cs.Index == index {
			set = cs
		}
	}
	if set == nil {
		return nil, fail(http.StatusNotFound, "step %d of run %d reported no cases", index, id)
	}
	view := &api.CaseView{Run: id, Index: index, Step: set.Stage + "/" + set.Name, BaselineRun: set.BaselineRun}
	cur, err := s.store.GetCase(r.Context(), id, index, caseID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, storeFailure(err, "case")
	}
	var base *evals.Case
	if b, err := s.baselineSet(r, set, map[int64][]*store.CaseSet{}); err != nil {
		return nil, err
	} else if b != nil {
		base, err = s.store.GetCase(r.Context(), b.RunID, b.Index, caseID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, storeFailure(err, "baseline case")
		}
	}
	if cur == nil && base == nil {
		return nil, fail(http.StatusNotFound, "case %q not found in step %s of run %d", caseID, view.Step, id)
	}
	var curs, bases []evals.Case
	if cur != nil {
		curs = []evals.Case{*cur}
		view.Case = viewCase(cur)
	}
	if base != nil {
		bases = []evals.Case{*base}
		view.Baseline = viewCase(base)
	}
	view.Status = api.CaseStatus(evals.Compare(curs, bases)[0].Status.String())
	return view, nil
}

func viewCaseChange(ch evals.Change) api.CaseChange {
	v := api.CaseChange{ID: ch.ID, Status: api.CaseStatus(ch.Status.String())}
	if c := ch.Current; c != nil {
		v.Tags, v.Pass, v.Flaky, v.Scores = c.Tags, &c.Pass, c.Flaky, c.Scores
	}
	if b := ch.Baseline; b != nil {
		v.BaselinePass, v.BaselineScores = &b.Pass, b.Scores
		v.Flaky = v.Flaky || b.Flaky
		if v.Tags == nil {
			v.Tags = b.Tags
		}
	}
	return v
}

func viewCase(c *evals.Case) *api.Case {
	v := api.Case(*c)
	return &v
}
