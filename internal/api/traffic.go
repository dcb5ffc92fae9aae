package api

import (
	"context"
	"net/http"
)

// TrafficRequest is the body of POST /api/v1/projects/{name}/environments/{env}/traffic.
type TrafficRequest struct {
	// Action is pause (new requests wait until resumed, up to TimeoutMS, then get 503), stop (new requests
	// get a 503 with Message) or resume. Requests in flight finish in every case.
	Action  string `json:"action"`
	Message string `json:"message,omitempty"`
	// TimeoutMS bounds a request's wait while paused; 0 is the default, 30 000.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
}

// Traffic is an environment's traffic mode: serving, paused or stopped.
type Traffic struct {
	Mode      string `json:"mode"`
	Message   string `json:"message,omitempty"`
	TimeoutMS int64  `json:"timeout_ms,omitempty"`
}

// SetTraffic pauses, stops or resumes an environment's traffic.
func (c *Client) SetTraffic(ctx context.Context, project, env string, req TrafficRequest) (*Traffic, error) {
	return do[*Traffic](ctx, c, http.MethodPost, envPath(project, env)+"/traffic", req)
}
