package analysis

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// checkPipeline is a .ferry.yaml whose production environment queries prometheusURL and probes /health.
func checkPipeline(t *testing.T, prometheusURL string) []pipeline.Check {
	t.Helper()
	src := `version: 1
stages:
  - name: build
    steps:
      - name: build
        run: "true"
environments:
  - name: production
    service: {run: ./app, listen: 127.0.0.1:9000}
    analysis:
      checks:
        - prometheus:
            url: ` + prometheusURL + `
            query: up
            max: 1
`
	pl, err := pipeline.Parse(pipeline.FileName, []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return pl.Environments[0].Analysis.Checks
}

// A hostile commit aims a check at a host the operator did not allow (here a cloud metadata address): the
// check fails at once and says why, and no connection is made.
func TestCheckToAHostNotAllowedFails(t *testing.T) {
	tests := []struct {
		name  string
		allow []string
		url   string
	}{
		{"metadata address", nil, "http://169.254.169.254/latest"},
		{"private address", []string{"10.1.0.0/16"}, "http://10.2.0.1:9090"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := NewHostGuard(tt.allow)
			if err != nil {
				t.Fatal(err)
			}
			a := &Analyzer{Checks: checkPipeline(t, tt.url), Prometheus: &Prometheus{Client: g.Client(), Timeout: 2 * time.Second}}
			ev := a.Evaluate(t.Context(), time.Second, proxy.Canary, proxy.Stable)
			row := ev.Results[0]
			if row.Verdict != Fail || !strings.Contains(row.Reason, "not loopback nor allowed by ferry serve --allow-check-host") {
				t.Fatalf("check to %s: %s %q, want fail naming --allow-check-host", tt.url, row.Verdict, row.Reason)
			}
		})
	}
}

// The resolved address is what counts: a name that is not allowed and resolves to an address that is not
// allowed is refused at dial time, even though nothing about the URL looks private.
func TestHostGuardChecksTheResolvedAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	// A guard whose only prefix is elsewhere: rebuild it without loopback to see the dial-time refusal.
	g := &HostGuard{names: map[string]bool{}}
	_, err := g.Client().Get("http://localhost" + port + "/")
	if !errors.Is(err, ErrHostNotAllowed) || !strings.Contains(err.Error(), "localhost (127.0.0.1)") {
		t.Fatalf("GET localhost with loopback not allowed: %v, want ErrHostNotAllowed naming localhost (127.0.0.1)", err)
	}
	// The same name allowed by the operator: its DNS is trusted.
	g, _ = NewHostGuard([]string{"localhost"})
	g.prefixes = nil
	resp, err := g.Client().Get("http://localhost" + port + "/")
	if err != nil {
		t.Fatalf("GET an allowed name: %v", err)
	}
	resp.Body.Close()
	// The default guard allows loopback, by address or by a name that resolves there.
	resp, err = (*HostGuard)(nil).Client().Get("http://localhost" + port + "/")
	if err != nil {
		t.Fatalf("GET localhost with the default guard: %v", err)
	}
	resp.Body.Close()
}

// A check against a server that answers an error with a secret-looking body: the reason gives the status and
// the length, never the body.
func TestFailedCheckReasonNeverQuotesTheBody(t *testing.T) {
	const secret = "AKIAIOSFODNN7EXAMPLE-secret"
	bodies := []string{
		secret + "\n",
		`{"status":"error","errorType":"bad_data","error":"` + secret + `"}`,
		`{"status":"error","errorType":"` + secret + `","error":"x"}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1700000000,"` + secret + `"]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":"` + secret + `"}}`,
	}
	for _, body := range bodies {
		for _, status := range []int{200, 500} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
				io.WriteString(w, body)
			}))
			checks := checkPipeline(t, srv.URL)
			checks = append(checks, pipeline.Check{HTTP: &pipeline.HTTPCheck{Path: "/health", Method: "GET", ExpectStatus: 204, ExpectBody: "healthy"}})
			a := &Analyzer{Checks: checks, Prober: &Prober{Addr: srv.Listener.Addr().String()}}
			ev := a.Evaluate(t.Context(), time.Second, proxy.Canary, proxy.Stable)
			srv.Close()
			for _, row := range ev.Results {
				if row.Verdict == Pass {
					t.Errorf("status %d body %q: %s passed", status, body, row.Check)
				}
				if strings.Contains(row.Reason, "AKIA") || strings.Contains(row.Value, "AKIA") {
					t.Errorf("status %d: %s reason %q quotes the body", status, row.Check, row.Reason)
				}
			}
		}
	}
}
