package kubernetes_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-cd/ferry/internal/deploy"
)

// gateway stands in for a Gateway API implementation, which does not run here (no Envoy, no cloud load
// balancer): an HTTP server on loopback that, for every request, reads the environment's HTTPRoute from the
// API server, takes the rule the request matches as a Gateway would (path and exact header matches; the
// rule with the most header matches wins), picks one of its backends by weight and a ready endpoint of that
// Service, and relays the request to the pod's server (the test kubelet's). It returns its URL.
func (h *harness) gateway(t *testing.T, env deploy.Environment) string {
	t.Helper()
	ns := env.Spec.Kubernetes.Namespace
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		route, err := h.cp.Dynamic.Resource(httpRoutes).Namespace(ns).Get(ctx, env.Spec.Kubernetes.Route.Name, metav1.GetOptions{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		svc, err := pickBackend(route, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		addr, err := h.endpoint(ctx, ns, svc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		req, err := http.NewRequestWithContext(ctx, r.Method, "http://"+addr+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// ruleFor is the rule of rules that req matches, as a Gateway chooses among the rules of one route: of the
// rules with a match that req satisfies, the one whose match has the most header matches; the first of
// those on a tie. A rule without matches matches every request. A nil req has no headers and the path /.
func ruleFor(rules []any, req *http.Request) map[string]any {
	path, header := "/", http.Header{}
	if req != nil {
		path, header = req.URL.Path, req.Header
	}
	var best map[string]any
	bestHeaders := -1
	for _, rule := range rules {
		rm, _ := rule.(map[string]any)
		matches, _ := rm["matches"].([]any)
		if len(matches) == 0 {
			matches = []any{map[string]any{}}
		}
		for _, m := range matches {
			mm, _ := m.(map[string]any)
			n, ok := matchRequest(mm, path, header)
			if ok && n > bestHeaders {
				best, bestHeaders = rm, n
			}
		}
	}
	return best
}

// matchRequest says whether a match of a rule takes a request to path with header, and how many header
// matches it has.
func matchRequest(m map[string]any, path string, header http.Header) (int, bool) {
	if p, ok := m["path"].(map[string]any); ok {
		value, _ := p["value"].(string)
		switch p["type"] {
		case "Exact":
			if path != value {
				return 0, false
			}
		default: // PathPrefix, the default
			if !strings.HasPrefix(path, value) {
				return 0, false
			}
		}
	}
	headers, _ := m["headers"].([]any)
	for _, hm := range headers {
		h, _ := hm.(map[string]any)
		name, _ := h["name"].(string)
		value, _ := h["value"].(string)
		if header.Get(name) != value || header.Get(name) == "" {
			return 0, false
		}
	}
	return len(headers), true
}
