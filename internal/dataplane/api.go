package dataplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferry-cd/ferry/internal/edge/acme"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// APIVersion is the version of the socket API; the path prefix carries it.
const APIVersion = "v1"

// State is what GET /v1/state answers: every environment as it runs now.
type State struct {
	PID          int        `json:"pid"`
	Environments []EnvState `json:"environments"`
	// Refused is set in the answer to PUT /v1/desired: the environments that could not be applied, each with
	// why (see PartialError).
	Refused map[string]string `json:"refused,omitempty"`
}

// EnvState is one environment as it runs.
type EnvState struct {
	Name     string         `json:"name"`
	Listen   string         `json:"listen"`
	Route    Route          `json:"route"`
	Releases []ReleaseState `json:"releases"`
	// Certificates are the ACME certificates of its hosts: expiry, issuer, last error and next attempt.
	Certificates []acme.HostStatus `json:"certificates,omitempty"`
	Traffic      proxy.Traffic     `json:"traffic"`
}

// ReleaseState is one running release with its instances and its recent figures.
type ReleaseState struct {
	ID        string           `json:"id"`
	Healthy   bool             `json:"healthy"`
	Instances []InstanceStatus `json:"instances"`
	Last10s   *proxy.Summary   `json:"last_10s,omitempty"`
	// WaitingFor names the secrets the release waits for before it starts: the data plane restarted and
	// holds secrets only in memory, so the control plane sends them again (the local target prepares the
	// release again when it sees this).
	WaitingFor []string `json:"waiting_for,omitempty"`
}

// State returns a snapshot of every environment.
func (p *Plane) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := State{PID: os.Getpid(), Environments: []EnvState{}}
	now := time.Now()
	for _, run := range p.envs {
		es := EnvState{Name: run.spec.Name, Listen: run.spec.Listen, Route: run.spec.Route,
			Certificates: p.certificates(run.spec.Name), Traffic: run.proxy.Traffic()}
		for _, r := range run.spec.Releases {
			rs := ReleaseState{ID: r.ID, WaitingFor: r.missingSecrets()}
			if s := run.sets[r.ID]; s != nil {
				rs.Healthy, rs.Instances = s.Healthy(), s.Statuses()
			}
			if w := run.proxy.Stats(r.ID); w != nil {
				sum := w.Since(now.Add(-10*time.Second), now)
				rs.Last10s = &sum
			}
			es.Releases = append(es.Releases, rs)
		}
		st.Environments = append(st.Environments, es)
	}
	sort.Slice(st.Environments, func(i, j int) bool { return st.Environments[i].Name < st.Environments[j].Name })
	return st
}

// Desired returns the desired state the plane runs: what the last Apply accepted (refused environments as they
// were), or the restored one. Secrets are named, their values left out: they never leave the data plane.
func (p *Plane) Desired() Desired {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.desired.withoutSecretValues()
	if d.Environments == nil {
		d.Environments = []Environment{}
	}
	return d
}

// Stats returns a release's figures in an environment over the last span; found is false when the proxy has
// not routed to it.
func (p *Plane) Stats(env, release string, span time.Duration) (proxy.Summary, bool) {
	p.mu.Lock()
	run := p.envs[env]
	p.mu.Unlock()
	if run == nil {
		return proxy.Summary{}, false
	}
	w := run.proxy.Stats(release)
	if w == nil {
		return proxy.Summary{}, false
	}
	now := time.Now()
	return w.Since(now.Add(-span), now), true
}

// Handler serves the socket API. POST /v1/shutdown calls shutdown, which should stop the process.
func (p *Plane) Handler(shutdown func()) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/shutdown", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "stopping"})
		if shutdown != nil {
			go shutdown()
		}
	})
	reg := prometheus.NewRegistry()
	// The Go runtime and process figures, as client_golang users expect (go_goroutines,
	// process_resident_memory_bytes): the data plane is the process that must stay flat over time.
	reg.MustRegister(p.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, p.State())
	})
	mux.HandleFunc("GET /v1/desired", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, p.Desired())
	})
	mux.HandleFunc("PUT /v1/desired", func(w http.ResponseWriter, r *http.Request) {
		var d Desired
		dec := json.NewDecoder(io.LimitReader(r.Body, 8<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Error: "bad desired state: " + err.Error()})
			return
		}
		err := p.Apply(d)
		var partial *PartialError
		if err != nil && !errors.As(err, &partial) {
			writeJSON(w, http.StatusUnprocessableEntity, apiError{Error: err.Error()})
			return
		}
		st := p.State()
		if partial != nil {
			st.Refused = partial.Envs
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /v1/environments/{env}/releases/{release}/stats", func(w http.ResponseWriter, r *http.Request) {
		secs, err := strconv.ParseFloat(r.URL.Query().Get("seconds"), 64)
		if err != nil || secs <= 0 || secs > 120 {
			writeJSON(w, http.StatusBadRequest, apiError{Error: "seconds must be a number in (0, 120]"})
			return
		}
		sum, ok := p.Stats(r.PathValue("env"), r.PathValue("release"), time.Duration(secs*float64(time.Second)))
		if !ok {
			writeJSON(w, http.StatusNotFound, apiError{Error: "no figures for that environment and release"})
			return
		}
		writeJSON(w, http.StatusOK, sum)
	})
	return mux
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// ErrNotFound is returned by the client when the data plane has no such environment or release (no figures
// for a release it has not routed to).
var ErrNotFound = errors.New("not found")

// answerError is an answer of the socket API that is not a success.
type answerError struct {
	msg  string
	code int
}

func (e *answerError) Error() string { return fmt.Sprintf("data plane: %s (HTTP %d)", e.msg, e.code) }

func (e *answerError) Is(target error) bool {
	return target == ErrNotFound && e.code == http.StatusNotFound
}

// ErrRunning is returned by Listen when another data plane answers on the socket.
var ErrRunning = errors.New("a data plane is already running")

// Listen opens the socket API at path, owner-only. A stale socket file from a dead data plane is replaced;
// a live one is not.
func Listen(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", path, ErrRunning)
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Client calls a data plane's socket API.
type Client struct {
	http *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	return &Client{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(json.NewEncoder(pw).Encode(in)) }()
		body = pr
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://dataplane"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("data plane: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e apiError
		json.NewDecoder(resp.Body).Decode(&e)
		return &answerError{msg: e.Error, code: resp.StatusCode}
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// Apply sends the desired state and returns the state after it was applied. When some environments were
// refused, it returns the state with a *PartialError naming them.
func (c *Client) Apply(ctx context.Context, d Desired) (*State, error) {
	var st State
	if err := c.do(ctx, "PUT", "/v1/desired", d, &st); err != nil {
		return &st, err
	}
	if len(st.Refused) > 0 {
		return &st, &PartialError{Envs: st.Refused}
	}
	return &st, nil
}

// Desired returns the desired state the data plane runs, so a caller can change one environment of it and
// send it back with Apply.
func (c *Client) Desired(ctx context.Context) (*Desired, error) {
	var d Desired
	return &d, c.do(ctx, "GET", "/v1/desired", nil, &d)
}

// State returns the data plane's current state.
func (c *Client) State(ctx context.Context) (*State, error) {
	var st State
	return &st, c.do(ctx, "GET", "/v1/state", nil, &st)
}

// Shutdown asks the data plane to stop its instances and exit.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, "POST", "/v1/shutdown", nil, nil)
}

// Metrics copies the data plane's Prometheus exposition to w.
func (c *Client) Metrics(ctx context.Context, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://dataplane/metrics", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("data plane: %w", err)
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// Stats returns a release's figures over the last span.
func (c *Client) Stats(ctx context.Context, env, release string, span time.Duration) (*proxy.Summary, error) {
	var s proxy.Summary
	path := fmt.Sprintf("/v1/environments/%s/releases/%s/stats?seconds=%g", url.PathEscape(env), url.PathEscape(release), span.Seconds())
	return &s, c.do(ctx, "GET", path, nil, &s)
}
