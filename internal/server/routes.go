package server

import (
	"context"
	"net/http"

	"github.com/ferry-cd/ferry/internal/ofrep"
	"github.com/ferry-cd/ferry/internal/store"
)

// Handler returns the HTTP API. Every /api/v1 route and /metrics need a bearer token except the webhook, which
// is verified by its signature instead.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /api/v1/projects/{name}/webhook", s.handleWebhook)

	v1 := http.NewServeMux()
	v1.Handle("GET /api/v1/projects", handle(http.StatusOK, s.listProjects))
	v1.Handle("POST /api/v1/projects", handle(http.StatusCreated, s.addProject))
	v1.Handle("GET /api/v1/projects/{name}", handle(http.StatusOK, s.getProject))
	v1.Handle("DELETE /api/v1/projects/{name}", handle(http.StatusNoContent, s.deleteProject))
	v1.Handle("POST /api/v1/projects/{name}/trigger", handle(http.StatusCreated, s.trigger))
	v1.Handle("GET /api/v1/projects/{name}/runs", handleInProject(s, http.StatusOK, s.listRuns))
	v1.Handle("GET /api/v1/projects/{name}/releases", handleInProject(s, http.StatusOK, s.listReleases))
	v1.Handle("GET /api/v1/projects/{name}/releases/{version}", handleInProject(s, http.StatusOK, s.getProjectRelease))
	v1.Handle("GET /api/v1/projects/{name}/releases/{version}/manifests", handleInProject(s, http.StatusOK, s.getProjectReleaseManifests))
	v1.Handle("GET /api/v1/projects/{name}/secrets", handleInProject(s, http.StatusOK, s.listSecrets))
	v1.HandleFunc("PUT /api/v1/projects/{name}/secrets/{secret}", s.handleSetSecret)
	v1.Handle("DELETE /api/v1/projects/{name}/secrets/{secret}", handle(http.StatusNoContent, s.deleteSecret))
	v1.Handle("GET /api/v1/runs/{id}", handle(http.StatusOK, s.getRun))
	v1.Handle("POST /api/v1/runs/{id}/cancel", handle(http.StatusAccepted, s.cancelRun))
	v1.HandleFunc("GET /api/v1/runs/{id}/logs", s.handleLogs)
	v1.Handle("GET /api/v1/runs/{id}/cases", handle(http.StatusOK, s.runCases))
	v1.Handle("GET /api/v1/runs/{id}/steps/{index}/cases/{case}", handle(http.StatusOK, s.getCase))
	v1.Handle("GET /api/v1/releases/{id}", handle(http.StatusOK, s.getRelease))
	v1.Handle("GET /api/v1/releases/{id}/manifests", handle(http.StatusOK, s.getReleaseManifests))

	v1.Handle("GET /api/v1/projects/{name}/status", handleInProject(s, http.StatusOK, s.projectStatus))
	v1.Handle("GET /api/v1/projects/{name}/rollouts", handleInProject(s, http.StatusOK, s.listRollouts))
	v1.Handle("GET /api/v1/rollouts/{id}", handle(http.StatusOK, s.getRollout))
	v1.Handle("POST /api/v1/projects/{name}/environments/{env}/{action}", handleInProject(s, http.StatusAccepted, s.rolloutAction))
	v1.Handle("POST /api/v1/projects/{name}/environments/{env}/traffic", handleInProject(s, http.StatusOK, s.setTraffic))
	v1.Handle("GET /api/v1/projects/{name}/dora", handleInProject(s, http.StatusOK, s.dora))

	v1.HandleFunc("GET /api/v1/projects/{name}/environments/{env}/logs", s.handleAppLogs)
	v1.Handle("GET /api/v1/projects/{name}/environments/{env}/flags", handleInProject(s, http.StatusOK, s.listFlags))
	v1.Handle("PUT /api/v1/projects/{name}/environments/{env}/flags/{flag}/override", handleInProject(s, http.StatusOK, s.setOverride))
	v1.Handle("DELETE /api/v1/projects/{name}/environments/{env}/flags/{flag}/override", handleInProject(s, http.StatusNoContent, s.clearOverride))

	v1.Handle("GET /api/v1/audit", handle(http.StatusOK, s.listAudit))
	v1.Handle("GET /api/v1/notifications", handle(http.StatusOK, s.listNotifications))
	v1.Handle("POST /api/v1/tokens", handle(http.StatusCreated, s.createToken))
	v1.Handle("GET /api/v1/tokens", handle(http.StatusOK, s.listTokens))
	v1.Handle("DELETE /api/v1/tokens/{name}", handle(http.StatusNoContent, s.revokeToken))
	v1.Handle("GET /api/v1/whoami", handle(http.StatusOK, whoami))
	v1.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
	mux.Handle("/api/v1/", s.authenticate(v1))
	// OFREP authenticates with flags tokens itself: each names the project and environment it reads.
	mux.Handle("/ofrep/", ofrep.Handler(ofrepSource{s}))
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
