package runs

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/store"
)

// storeObserver records step progress in the store and the run's log file.
type storeObserver struct {
	m       *Manager
	ctx     context.Context // not canceled with the run: its steps' ends are still recorded
	project string
	steps   []*store.Step
	log     *runLog
	logger  *slog.Logger

	mu     sync.Mutex
	images map[int][]string // by step index: what each step reported at $FERRY_IMAGES
}

// imagesInOrder are the images every step reported, in the order of the steps.
func (o *storeObserver) imagesInOrder() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	idx := slices.Sorted(maps.Keys(o.images))
	var out []string
	for _, i := range idx {
		out = append(out, o.images[i]...)
	}
	return out
}

func (o *storeObserver) update(st *store.Step) {
	if err := o.m.store.UpdateStep(o.ctx, st); err != nil {
		o.logger.Error("record step", "step", st.FullName(), "err", err)
	}
}

func (o *storeObserver) StepStarted(ref engine.StepRef, attempt int, pid int) {
	st := o.steps[ref.Index]
	st.State, st.Attempts, st.PID = store.StepRunning, attempt, pid
	if attempt == 1 {
		st.StartedAt = time.Now().UTC()
	}
	o.update(st)
}

func (o *storeObserver) Log(ref engine.StepRef, lines []engine.Line) {
	o.log.write(ref.FullName(), lines)
}

func (o *storeObserver) StepFinished(ref engine.StepRef, res engine.StepResult) {
	st := o.steps[ref.Index]
	st.State, st.Attempts, st.ExitCode, st.Reason = res.State, res.Attempts, res.ExitCode, res.Reason
	st.Metrics, st.Verdicts, st.Artifacts, st.PID = res.Metrics, res.Verdicts, res.Artifacts, 0
	if !res.StartedAt.IsZero() {
		st.StartedAt = res.StartedAt.UTC()
	}
	st.FinishedAt = time.Now().UTC()
	if len(res.Images) > 0 {
		o.mu.Lock()
		if o.images == nil {
			o.images = map[int][]string{}
		}
		o.images[ref.Index] = res.Images
		o.mu.Unlock()
	}
	// The cases go first: a reader that sees the step finished finds its cases.
	if res.Cases != nil {
		set := &store.CaseSet{RunID: st.RunID, Index: st.Index, BaselineRun: res.CasesBaseline, Cases: res.Cases}
		if err := o.m.store.PutCases(o.ctx, set); err != nil {
			o.logger.Error("record cases", "step", st.FullName(), "err", err)
		}
	}
	o.update(st)
	o.m.events.StepEnded(o.project, st)
	if res.Reason != "" && res.State != store.StepPassed {
		o.log.note(ref.FullName(), []engine.Line{{Time: time.Now(), Text: fmt.Sprintf("ferry: step %s: %s", res.State, res.Reason)}})
	}
}
