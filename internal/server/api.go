package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/ofrep"
	"github.com/ferry-cd/ferry/internal/runs"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// maxBody bounds request bodies; webhook payloads of large pushes stay far below it.
const maxBody = 5 << 20

// Handler returns the HTTP API. Every /api/v1 route and /metrics need a bearer token except the webhook, which
// is verified by its signature instead.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /api/v1/projects/{name}/webhook", s.handleWebhook)

	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/projects", s.handleListProjects)
	api.HandleFunc("POST /api/v1/projects", s.handleAddProject)
	api.HandleFunc("GET /api/v1/projects/{name}", s.handleGetProject)
	api.HandleFunc("DELETE /api/v1/projects/{name}", s.handleDeleteProject)
	api.HandleFunc("POST /api/v1/projects/{name}/trigger", s.handleTrigger)
	api.HandleFunc("GET /api/v1/projects/{name}/runs", s.handleListRuns)
	api.HandleFunc("GET /api/v1/projects/{name}/releases", s.handleListReleases)
	api.HandleFunc("GET /api/v1/projects/{name}/secrets", s.handleListSecrets)
	api.HandleFunc("PUT /api/v1/projects/{name}/secrets/{secret}", s.handleSetSecret)
	api.HandleFunc("DELETE /api/v1/projects/{name}/secrets/{secret}", s.handleDeleteSecret)
	api.HandleFunc("GET /api/v1/runs/{id}", s.handleGetRun)
	api.HandleFunc("POST /api/v1/runs/{id}/cancel", s.handleCancelRun)
	api.HandleFunc("GET /api/v1/runs/{id}/logs", s.handleLogs)
	api.HandleFunc("GET /api/v1/releases/{id}", s.handleGetRelease)
	s.rolloutRoutes(api)
	s.flagRoutes(api)
	api.HandleFunc("GET /api/v1/audit", s.handleListAudit)
	api.HandleFunc("GET /api/v1/notifications", s.handleListNotifications)
	api.HandleFunc("POST /api/v1/tokens", s.handleCreateToken)
	api.HandleFunc("GET /api/v1/tokens", s.handleListTokens)
	api.HandleFunc("DELETE /api/v1/tokens/{name}", s.handleRevokeToken)
	api.HandleFunc("GET /api/v1/whoami", s.handleWhoami)
	api.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
	mux.Handle("/api/v1/", s.authenticate(api))
	// OFREP authenticates with flags tokens itself: each names the project and environment it reads.
	mux.Handle("/ofrep/", ofrep.Handler(ofrep.SourceFunc(s.ofrepFlags)))
	mux.Handle("GET /metrics", s.authenticate(s.handleMetrics()))
	return mux
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token (set FERRY_TOKEN or --token)")
			return
		}
		t, err := s.store.TokenByHash(r.Context(), hashToken(tok))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid token")
			return
		}
		// A flags token only evaluates flags, over OFREP.
		if t.Role == store.RoleFlags {
			writeError(w, http.StatusForbidden, "token %s only reads the flags of %s/%s, over OFREP (/ofrep/v1)", t.Name, t.Project, t.Env)
			return
		}
		// A read token sees everything and changes nothing.
		if t.Role == store.RoleRead && r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, http.StatusForbidden, "token %s is read-only", t.Name)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !(h[:len(prefix)] == prefix || h[:len(prefix)] == "bearer ") {
		return "", false
	}
	return h[len(prefix):], true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, api.ErrorBody{Error: fmt.Sprintf(format, args...)})
}

// writeStoreError maps store errors to answers: not found is 404, exists is 409, the rest 500.
func writeStoreError(w http.ResponseWriter, err error, what string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "%s not found", what)
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "%s already exists", what)
	default:
		writeError(w, http.StatusInternalServerError, "%s: %v", what, err)
	}
}

// requireProject returns the path's project name, or answers 404 (or 500) and false when it does not exist.
func (s *Server) requireProject(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("name")
	if _, err := s.store.GetProject(r.Context(), name); err != nil {
		writeStoreError(w, err, "project "+name)
		return "", false
	}
	return name, true
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "bad request body: %v", err)
		return false
	}
	return true
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

func (s *Server) handleAddProject(w http.ResponseWriter, r *http.Request) {
	var req api.ProjectRequest
	if !decodeBody(w, r, &req) {
		return
	}
	p, err := s.validateProject(r.Context(), req)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", source.Redact(err.Error()))
		return
	}
	// Credentials written into the URL become the project's repository secrets: the URL is stored clean.
	var cred source.Credentials
	p.Repo, cred = source.SplitCredentials(p.Repo)
	if err := s.store.CreateProject(r.Context(), p); err != nil {
		writeStoreError(w, err, "project "+p.Name)
		return
	}
	if err := s.moveCredentials(r.Context(), p.Name, cred); err != nil {
		writeError(w, http.StatusInternalServerError, "store the repository credentials of %s: %v", p.Name, err)
		return
	}
	s.log.Info("project added", "project", p.Name, "repo", source.Redact(p.Repo), "branch", p.Branch)
	s.audit(r, "project.add", p.Name, p.Repo, "branch "+p.Branch)
	writeJSON(w, http.StatusCreated, viewProject(p))
}

func (s *Server) validateProject(ctx context.Context, req api.ProjectRequest) (*store.Project, error) {
	if !nameRE.MatchString(req.Name) {
		return nil, fmt.Errorf("invalid project name %q: use lower-case letters, digits, '-', '_' or '.', starting with a letter or digit", req.Name)
	}
	if err := source.ValidateRepo(req.Repo); err != nil {
		return nil, err
	}
	if req.Branch == "" {
		req.Branch = "main"
	}
	if err := source.ValidateBranch(ctx, req.Branch); err != nil {
		return nil, err
	}
	var poll time.Duration
	if req.Poll != "" && req.Poll != "0" && req.Poll != "off" {
		d, err := time.ParseDuration(req.Poll)
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("invalid poll interval %q: use a duration of at least 1s such as 30s, or 0 for none", req.Poll)
		}
		poll = d
	}
	if req.Concurrency == 0 {
		req.Concurrency = 2
	}
	if req.Concurrency < 1 || req.Concurrency > 64 {
		return nil, fmt.Errorf("invalid concurrency %d: use 1 to 64", req.Concurrency)
	}
	var status store.StatusTarget
	if req.StatusProvider != "" {
		if !slices.Contains(source.StatusProviders, req.StatusProvider) {
			return nil, fmt.Errorf("invalid status provider %q: use github, gitlab or gitea", req.StatusProvider)
		}
		u, err := url.Parse(req.StatusAPI)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("invalid status API %q: give the forge API's base URL, such as https://api.github.com", req.StatusAPI)
		}
		if req.StatusRepo == "" {
			return nil, errors.New("status repo is empty: give owner/name (GitHub, Gitea) or the GitLab project id or path")
		}
		status = store.StatusTarget{Provider: req.StatusProvider, API: req.StatusAPI, Repo: req.StatusRepo}
	}
	var sinks []store.NotifySink
	for _, k := range []struct {
		kind string
		urls []string
	}{{"webhook", req.NotifyWebhook}, {"slack", req.NotifySlack}} {
		kind := k.kind
		for _, raw := range k.urls {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("invalid notify %s %q: give an http or https URL", kind, raw)
			}
			sinks = append(sinks, store.NotifySink{Kind: kind, URL: raw})
		}
	}
	return &store.Project{
		Name: req.Name, Repo: req.Repo, Branch: req.Branch, Poll: poll,
		WebhookSecret: req.WebhookSecret, Concurrency: req.Concurrency, CreatedAt: time.Now().UTC(), Status: status,
		Notify: sinks,
	}, nil
}

func (s *Server) handleListProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := s.store.ListProjects(r.Context())
	if err != nil {
		writeStoreError(w, err, "projects")
		return
	}
	out := make([]api.ProjectView, 0, len(ps))
	for _, p := range ps {
		out = append(out, viewProject(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetProject(w http.ResponseWriter, r *http.Request) {
	p, err := s.store.GetProject(r.Context(), r.PathValue("name"))
	if err != nil {
		writeStoreError(w, err, "project "+r.PathValue("name"))
		return
	}
	writeJSON(w, http.StatusOK, viewProject(p))
}

func (s *Server) handleDeleteProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.runs.DeleteProject(r.Context(), name); err != nil {
		writeStoreError(w, err, "project "+name)
		return
	}
	s.audit(r, "project.rm", name, "", "")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleTrigger(w http.ResponseWriter, r *http.Request) {
	var req api.TriggerRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Commit != "" && !source.ValidCommit(req.Commit) {
		writeError(w, http.StatusBadRequest, "invalid commit %q: give a hexadecimal commit id", req.Commit)
		return
	}
	name, ok := s.requireProject(w, r)
	if !ok {
		return
	}
	run, err := s.runs.Enqueue(r.Context(), name, req.Commit, "manual")
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "%v", err)
		return
	}
	s.audit(r, "trigger", name, "run "+strconv.FormatInt(run.ID, 10), run.Commit)
	writeJSON(w, http.StatusCreated, viewRun(run))
}

func (s *Server) handleListRuns(w http.ResponseWriter, r *http.Request) {
	name, ok := s.requireProject(w, r)
	if !ok {
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 50
	}
	runs, err := s.store.ListRuns(r.Context(), name, limit)
	if err != nil {
		writeStoreError(w, err, "runs")
		return
	}
	if runs == nil {
		runs = []*store.Run{}
	}
	writeJSON(w, http.StatusOK, viewAll(runs, viewRun))
}

// pathID reads the numeric {id} of a run, release or rollout path; a bad one gets 400.
func (s *Server) pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "invalid id %q: give the number ferry shows", r.PathValue("id"))
		return 0, false
	}
	return id, true
}

func (s *Server) handleGetRun(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	run, err := s.store.GetRun(r.Context(), id)
	if err != nil {
		writeStoreError(w, err, fmt.Sprintf("run %d", id))
		return
	}
	steps, err := s.store.ListSteps(r.Context(), id)
	if err != nil {
		writeStoreError(w, err, "steps")
		return
	}
	if steps == nil {
		steps = []*store.Step{}
	}
	writeJSON(w, http.StatusOK, api.RunView{Run: *viewRun(run), Steps: viewAll(steps, viewStep)})
}

func (s *Server) handleCancelRun(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	run, err := s.runs.Cancel(r.Context(), id)
	if err != nil {
		writeStoreError(w, err, fmt.Sprintf("run %d", id))
		return
	}
	s.audit(r, "run.cancel", run.Project, "run "+strconv.FormatInt(id, 10), string(run.State))
	writeJSON(w, http.StatusAccepted, viewRun(run))
}

// handleLogs streams a run's log as JSON lines (application/x-ndjson), each flushed as it is written. With
// follow=1 the answer stays open until the run ends.
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if _, err := s.store.GetRun(r.Context(), id); err != nil {
		writeStoreError(w, err, fmt.Sprintf("run %d", id))
		return
	}
	q := r.URL.Query()
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	pending := 0
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.streams, cancel)()
	err := s.runs.FollowLog(ctx, id, q.Get("step"), follow, func(ln runs.LogLine) error {
		if err := enc.Encode(api.LogLine{Time: ln.Time, Step: ln.Step, Text: ln.Text}); err != nil {
			return err
		}
		pending++
		if pending >= 256 {
			pending = 0
			return rc.Flush()
		}
		return nil
	}, func() { rc.Flush(); pending = 0 })
	if err != nil {
		s.log.Debug("logs stream ended", "run", id, "err", err)
	}
	rc.Flush()
}

func (s *Server) handleListReleases(w http.ResponseWriter, r *http.Request) {
	name, ok := s.requireProject(w, r)
	if !ok {
		return
	}
	rels, err := s.store.ListReleases(r.Context(), name, 50)
	if err != nil {
		writeStoreError(w, err, "releases")
		return
	}
	if rels == nil {
		rels = []*store.Release{}
	}
	writeJSON(w, http.StatusOK, viewAll(rels, viewRelease))
}

func (s *Server) handleGetRelease(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	rel, err := s.store.GetRelease(r.Context(), id)
	if err != nil {
		writeStoreError(w, err, fmt.Sprintf("release %d", id))
		return
	}
	m, err := s.artifacts.ReadManifest(rel.Bundle)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, api.ReleaseView{Release: viewRelease(rel), Files: viewAll(m.Files, viewArtifact)})
}

var secretNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (s *Server) handleListSecrets(w http.ResponseWriter, r *http.Request) {
	name, ok := s.requireProject(w, r)
	if !ok {
		return
	}
	list, err := s.store.ListSecrets(r.Context(), name)
	if err != nil {
		writeStoreError(w, err, "secrets")
		return
	}
	if list == nil {
		list = []store.Secret{}
	}
	writeJSON(w, http.StatusOK, viewAll(list, viewSecret))
}

func (s *Server) handleSetSecret(w http.ResponseWriter, r *http.Request) {
	name, secret := r.PathValue("name"), r.PathValue("secret")
	if !secretNameRE.MatchString(secret) {
		writeError(w, http.StatusBadRequest, "invalid secret name %q: use letters, digits and '_', not starting with a digit", secret)
		return
	}
	if _, err := s.store.GetProject(r.Context(), name); err != nil {
		writeStoreError(w, err, "project "+name)
		return
	}
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "secret value too large (64 KiB at most)")
		return
	}
	if len(value) == 0 {
		writeError(w, http.StatusBadRequest, "secret value is empty")
		return
	}
	if err := s.store.SetSecret(r.Context(), name, secret, s.sealer.Seal(name, secret, value)); err != nil {
		writeStoreError(w, err, "secret "+secret)
		return
	}
	s.log.Info("secret set", "project", name, "secret", secret)
	s.audit(r, "secret.set", name, secret, "")
	writeJSON(w, http.StatusOK, api.SecretSet{Name: secret})
}

func (s *Server) handleDeleteSecret(w http.ResponseWriter, r *http.Request) {
	name, secret := r.PathValue("name"), r.PathValue("secret")
	if err := s.store.DeleteSecret(r.Context(), name, secret); err != nil {
		writeStoreError(w, err, "secret "+secret)
		return
	}
	s.audit(r, "secret.rm", name, secret, "")
	w.WriteHeader(http.StatusNoContent)
}
