package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/store"
)

// trafficTarget is a Target that can pause, stop and resume an environment's traffic (deploy.Mux).
type trafficTarget interface {
	SetTraffic(ctx context.Context, key store.EnvKey, t deploy.Traffic) error
}

// Bounds of a traffic request, the data plane's own (dataplane.MaxTrafficMessage, MaxPauseTimeout).
const (
	maxTrafficMessage = 64 << 10
	maxPauseTimeout   = 10 * time.Minute
)

// setTraffic pauses, stops (with a maintenance message) or resumes an environment's traffic.
func (s *Server) setTraffic(r *http.Request, project string, req api.TrafficRequest) (*api.Traffic, error) {
	env := r.PathValue("env")
	tr := deploy.Traffic{Message: req.Message, Timeout: time.Duration(req.TimeoutMS) * time.Millisecond}
	switch req.Action {
	case "pause":
		tr.Mode = deploy.TrafficPaused
	case "stop":
		tr.Mode = deploy.TrafficStopped
	case "resume":
		tr = deploy.Traffic{Mode: deploy.TrafficServing}
	default:
		return nil, fail(http.StatusBadRequest, "action %q: use pause, stop or resume", req.Action)
	}
	switch {
	case len(req.Message) > maxTrafficMessage:
		return nil, fail(http.StatusBadRequest, "message of %d bytes: at most %d", len(req.Message), maxTrafficMessage)
	case req.TimeoutMS < 0 || tr.Timeout > maxPauseTimeout:
		return nil, fail(http.StatusBadRequest, "timeout_ms %d: from 0 (the default, 30 s) to %d", req.TimeoutMS, maxPauseTimeout.Milliseconds())
	case req.Action == "resume" && (req.Message != "" || req.TimeoutMS != 0):
		return nil, fail(http.StatusBadRequest, "resume takes no message or timeout_ms")
	}
	if _, err := s.flagsEnvExists(r.Context(), project, env); err != nil {
		return nil, err
	}
	tt, ok := s.target.(trafficTarget)
	if !ok || s.target == nil {
		return nil, fail(http.StatusConflict, "%s: %v", req.Action, deploy.ErrNoTrafficControl)
	}
	if err := tt.SetTraffic(r.Context(), store.EnvKey{Project: project, Env: env}, tr); err != nil {
		if errors.Is(err, deploy.ErrNoTrafficControl) {
			return nil, fail(http.StatusConflict, "%s: %v", req.Action, err)
		}
		return nil, fail(http.StatusConflict, "%s %s/%s: %v", req.Action, project, env, err)
	}
	detail := tr.Mode
	if tr.Message != "" {
		detail += fmt.Sprintf(" (message of %d bytes)", len(tr.Message))
	}
	s.audit(r, "traffic."+req.Action, project, env, detail)
	return &api.Traffic{Mode: tr.Mode, Message: tr.Message, TimeoutMS: tr.Timeout.Milliseconds()}, nil
}
