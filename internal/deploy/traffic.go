package deploy

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

// Traffic modes an operator sets on an environment (ferry traffic): TrafficServing, TrafficPaused (new
// requests wait, up to Timeout, until resumed) and TrafficStopped (new requests get a maintenance 503).
const (
	TrafficServing = "serving"
	TrafficPaused  = "paused"
	TrafficStopped = "stopped"
)

// Traffic is an environment's traffic mode.
type Traffic struct {
	Mode    string
	Message string
	Timeout time.Duration
}

// TrafficControl is a Target that can pause, stop and resume an environment's traffic: the local target,
// whose proxy holds the requests.
type TrafficControl interface {
	SetTraffic(ctx context.Context, key store.EnvKey, t Traffic) error
}

// ErrNoTrafficControl means the environment's target cannot pause or stop its traffic.
var ErrNoTrafficControl = errors.New("this environment's target cannot pause or stop traffic (only the local target's proxy can)")

// SetTraffic sets the traffic mode on the environment's target.
func (m *Mux) SetTraffic(ctx context.Context, key store.EnvKey, t Traffic) error {
	for _, tg := range m.targetsOf(key) {
		if tc, ok := tg.(TrafficControl); ok {
			return tc.SetTraffic(ctx, key, t)
		}
	}
	return ErrNoTrafficControl
}
