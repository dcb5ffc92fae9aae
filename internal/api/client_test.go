package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ferry-cd/ferry/internal/api"
)

// testAPI answers a few endpoints the way the server does, and records the token it was called with.
func testAPI(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /api/v1/whoami", func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, api.Whoami{Name: r.Header.Get("Authorization"), Role: api.RoleRead})
	})
	mux.HandleFunc("GET /api/v1/projects/{name}/environments/{env}/flags", func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, api.FlagsView{Project: r.PathValue("name"), Env: r.PathValue("env"), Flags: []api.FlagView{}})
	})
	mux.HandleFunc("POST /api/v1/projects/{name}/environments/{env}/{action}", func(w http.ResponseWriter, r *http.Request) {
		var req api.ActionRequest
		json.NewDecoder(r.Body).Decode(&req)
		write(w, http.StatusAccepted, api.Rollout{Project: r.PathValue("name"), Env: r.PathValue("env"), ReleaseID: req.To,
			Reason: r.PathValue("action")})
	})
	mux.HandleFunc("DELETE /api/v1/tokens/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /api/v1/runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusNotFound, api.ErrorBody{Error: "run " + r.PathValue("id") + " not found"})
	})
	mux.HandleFunc("GET /api/v1/audit", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the store is gone", http.StatusInternalServerError)
	})
	return mux
}

// TestClient calls the same endpoints over the network and in process: answers, names with characters that
// need escaping, and errors read the same either way.
func TestClient(t *testing.T) {
	h := testAPI(t)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	clients := map[string]*api.Client{
		"network":    api.NewClient(srv.URL+"/", "tok"),
		"in process": api.InProcess(h, "tok"),
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			who, err := c.Whoami(ctx)
			if err != nil || who.Name != "Bearer tok" || who.Role != api.RoleRead {
				t.Errorf("Whoami = %+v, %v; want the bearer token and role read", who, err)
			}
			fl, err := c.Flags(ctx, "web shop", "prod/eu")
			if err != nil || fl.Project != "web shop" || fl.Env != "prod/eu" {
				t.Errorf("Flags = %+v, %v; want the names back as given", fl, err)
			}
			ro, err := c.Act(ctx, "web", "production", "rollback", api.ActionRequest{To: 7})
			if err != nil || ro.ReleaseID != 7 || ro.Reason != "rollback" {
				t.Errorf("Act = %+v, %v; want rollback to release 7", ro, err)
			}
			if err := c.RevokeToken(ctx, "ci"); err != nil {
				t.Errorf("RevokeToken: %v", err)
			}

			rv, err := c.Run(ctx, 42)
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Message != "run 42 not found" || rv != nil {
				t.Errorf("Run of a missing run = %v, %v; want *api.Error 404 with the server's reason", rv, err)
			} else if got, want := err.Error(), "server: run 42 not found (HTTP 404)"; got != want {
				t.Errorf("error text %q, want %q", got, want)
			}
			_, err = c.Audit(ctx, "", 10)
			if !errors.As(err, &ae) || ae.Status != http.StatusInternalServerError || ae.Message != "the store is gone" {
				t.Errorf("Audit = %v; want *api.Error 500 with the plain-text body as reason", err)
			}
		})
	}
}

// TestInProcessStreams checks that an in-process answer arrives as the handler writes it, and that closing it
// stops a handler that would write forever.
func TestInProcessStreams(t *testing.T) {
	next := make(chan struct{})
	stopped := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "application/x-ndjson")
		for i := 1; ; i++ {
			fmt.Fprintf(w, "{\"line\":\"%d\"}\n", i)
			if err := rc.Flush(); err != nil {
				stopped <- err
				return
			}
			select {
			case <-next:
			case <-r.Context().Done():
				stopped <- r.Context().Err()
				return
			}
		}
	})
	c := api.InProcess(h, "tok")
	body, err := c.Logs(context.Background(), 1, "", true)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(body)
	for want := 1; want <= 3; want++ {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line != fmt.Sprintf("{\"line\":\"%d\"}\n", want) {
			t.Fatalf("line %d = %q", want, line)
		}
		if want < 3 {
			next <- struct{}{} // the handler writes the next line only now: each arrived before the handler ended
		}
	}
	body.Close()
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Errorf("the handler stopped with %v; want its context canceled by Close", err)
	}
	if line, err := br.ReadString('\n'); err == nil {
		t.Errorf("read %q after Close; want an error", line)
	}
}

// TestInProcessStatus checks the status and header of answers that write no body, or only a header.
func TestInProcessStatus(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		code    int
	}{
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {}, http.StatusOK},
		{"no content", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Test", "yes")
			w.WriteHeader(http.StatusNoContent)
			w.Header().Set("X-Late", "ignored")
		}, http.StatusNoContent},
		{"body only", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := api.InProcess(tt.handler, "tok").Request(context.Background(), http.MethodGet, "/x", nil, "")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.code)
			}
			if resp.Header.Get("X-Late") != "" {
				t.Errorf("a header set after WriteHeader was sent: %v", resp.Header)
			}
			io.Copy(io.Discard, resp.Body)
		})
	}
}
