package local

import (
	"context"

	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/store"
)

var _ deploy.TrafficControl = (*Target)(nil)

// SetTraffic pauses, stops or resumes the environment's proxy. The mode is part of the data plane's desired
// state: it is saved there and survives a restart of either process, and deploys keep it.
func (t *Target) SetTraffic(ctx context.Context, key store.EnvKey, tr deploy.Traffic) error {
	mode := tr.Mode
	if mode == deploy.TrafficServing {
		mode = ""
	}
	return t.change(ctx, key, false, func(e *dataplane.Environment) {
		e.Traffic = proxy.Traffic{Mode: mode, Message: tr.Message, Timeout: tr.Timeout}
	})
}
