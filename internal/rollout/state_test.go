package rollout

import (
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

func TestTransitions(t *testing.T) {
	all := []store.RolloutState{store.RolloutPending, store.RolloutProgressing, store.RolloutPaused, store.RolloutSucceeded,
		store.RolloutRolledBack, store.RolloutAborted, store.RolloutFailed, store.RolloutSuperseded}
	allowed := map[[2]store.RolloutState]bool{}
	for _, e := range [][2]store.RolloutState{
		{store.RolloutPending, store.RolloutProgressing}, {store.RolloutPending, store.RolloutSuperseded}, {store.RolloutPending, store.RolloutAborted},
		{store.RolloutPending, store.RolloutFailed},
		{store.RolloutProgressing, store.RolloutProgressing}, {store.RolloutProgressing, store.RolloutPaused},
		{store.RolloutProgressing, store.RolloutSucceeded}, {store.RolloutProgressing, store.RolloutRolledBack},
		{store.RolloutProgressing, store.RolloutAborted}, {store.RolloutProgressing, store.RolloutFailed},
		{store.RolloutPaused, store.RolloutProgressing}, {store.RolloutPaused, store.RolloutPaused},
		{store.RolloutPaused, store.RolloutSucceeded}, {store.RolloutPaused, store.RolloutRolledBack},
		{store.RolloutPaused, store.RolloutAborted}, {store.RolloutPaused, store.RolloutFailed},
	} {
		allowed[e] = true
	}
	// Every pair of states: final states go nowhere; the rest only along the listed edges.
	for _, from := range all {
		for _, to := range all {
			if got := CanTransition(from, to); got != allowed[[2]store.RolloutState{from, to}] {
				t.Errorf("CanTransition(%s, %s) = %v", from, to, got)
			}
		}
		if from.Done() != (len(edges[from]) == 0) {
			t.Errorf("%s: Done() = %v but has %d edges", from, from.Done(), len(edges[from]))
		}
	}
}
