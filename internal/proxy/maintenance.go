package proxy

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Traffic modes of an environment, set by the operator (ferry traffic): serving as usual, paused (new
// requests wait until resumed, up to a bound), stopped (new requests get a maintenance answer). Requests in
// flight finish in every mode.
const (
	TrafficServing = "serving"
	TrafficPaused  = "paused"
	TrafficStopped = "stopped"
)

// DefaultPauseTimeout is how long a request waits while paused before it gets 503.
const DefaultPauseTimeout = 30 * time.Second

// Traffic is an environment's traffic mode.
type Traffic struct {
	// Mode is TrafficServing (or ""), TrafficPaused or TrafficStopped.
	Mode string `json:"mode,omitempty"`
	// Message is the body of the 503 a stopped environment answers (and a paused one past its timeout):
	// plain text, or HTML when it starts with "<".
	Message string `json:"message,omitempty"`
	// Timeout bounds a request's wait while paused; DefaultPauseTimeout when zero.
	Timeout time.Duration `json:"timeout,omitempty"`
}

const (
	msgPaused      = "ferry: this service is paused; try again shortly"
	msgStopped     = "ferry: this service is down for maintenance"
	retryAfterSecs = "30"
)

// gate is the traffic mode in force; resumed is closed when it ends.
type gate struct {
	Traffic
	resumed chan struct{}
}

// SetTraffic puts the proxy in t's mode. Resuming (TrafficServing) lets the requests that wait proceed, on the
// route current then.
func (p *Proxy) SetTraffic(t Traffic) {
	if t.Mode == TrafficServing {
		t.Mode = ""
	}
	if t.Mode != "" && t.Timeout <= 0 {
		t.Timeout = DefaultPauseTimeout
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.gate.Load()
	if old == nil && t.Mode == "" || old != nil && old.Traffic == t {
		return // the data plane sets the mode at every apply: an unchanged one leaves waiting requests be
	}
	if t.Mode == "" {
		p.gate.Store(nil)
	} else {
		p.gate.Store(&gate{Traffic: t, resumed: make(chan struct{})})
	}
	if old != nil {
		close(old.resumed) // waiting requests look again: they proceed, or wait on the new gate
	}
}

// Traffic returns the proxy's traffic mode.
func (p *Proxy) Traffic() Traffic {
	if g := p.gate.Load(); g != nil {
		return g.Traffic
	}
	return Traffic{Mode: TrafficServing}
}

// admit holds a request while the environment is paused and reports whether it may proceed; when not, it
// returns the answer's body. ctx ends the wait early (the client went away).
func (p *Proxy) admit(ctx context.Context) (ok bool, msg string) {
	deadline := time.Time{}
	for {
		g := p.gate.Load()
		if g == nil {
			return true, ""
		}
		if g.Mode == TrafficStopped {
			return false, orDefault(g.Message, msgStopped)
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(g.Timeout)
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-g.resumed:
			t.Stop()
		case <-t.C:
			return false, orDefault(g.Message, msgPaused)
		case <-ctx.Done():
			t.Stop()
			return false, msgPaused
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func maintenanceType(msg string) string {
	if strings.HasPrefix(strings.TrimSpace(msg), "<") {
		return "text/html; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

// writeMaintenance writes the 503 of a stopped or still paused environment. It is not counted in a release's
// figures: the operator's pause must not fail a canary's analysis.
func writeMaintenance(bw *bufio.Writer, msg string, closing bool) {
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	bw.WriteString("HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + maintenanceType(msg) +
		"\r\nRetry-After: " + retryAfterSecs + "\r\nCache-Control: no-store\r\nContent-Length: " + strconv.Itoa(len(msg)) + "\r\n")
	if closing {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n" + msg)
}

func serveMaintenance(w http.ResponseWriter, msg string) {
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	h := w.Header()
	h.Set("Content-Type", maintenanceType(msg))
	h.Set("Retry-After", retryAfterSecs)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte(msg))
}
