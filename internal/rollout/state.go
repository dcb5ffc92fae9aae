// Package rollout owns progressive delivery's decisions: the rollout state machine, the deploy queue of each
// environment, and the controller that moves traffic step by step while analysis passes and rolls back when
// it does not. It records every transition in the store before it takes effect, and derives what each
// environment must run from the store alone, so it resumes after a kill -9.
//
// It drives where releases run through deploy.Target and never imports an implementation (deploy/local,
// dataplane); it must not import server or cli.
package rollout

import (
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

// edges lists every transition a rollout may take.
var edges = map[store.RolloutState][]store.RolloutState{
	store.RolloutPending: {store.RolloutProgressing, store.RolloutSuperseded, store.RolloutAborted, store.RolloutFailed},
	store.RolloutProgressing: {store.RolloutProgressing, store.RolloutPaused, store.RolloutSucceeded,
		store.RolloutRolledBack, store.RolloutAborted, store.RolloutFailed},
	store.RolloutPaused: {store.RolloutProgressing, store.RolloutPaused, store.RolloutSucceeded,
		store.RolloutRolledBack, store.RolloutAborted, store.RolloutFailed},
}

// CanTransition reports whether a rollout in state from may move to state to.
func CanTransition(from, to store.RolloutState) bool {
	for _, s := range edges[from] {
		if s == to {
			return true
		}
	}
	return false
}

// ErrTransition is returned for a transition the state machine does not allow.
type ErrTransition struct {
	From, To store.RolloutState
}

func (e *ErrTransition) Error() string {
	return fmt.Sprintf("a rollout cannot go from %s to %s", e.From, e.To)
}
