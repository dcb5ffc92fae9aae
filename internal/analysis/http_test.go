package analysis

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// versionServer stands for an environment's proxy: it answers as the version the X-Ferry-Version header
// names. The canary's /checkout is broken when broken is set; /slow answers after a second; /echo returns the
// method and body. hits counts the requests.
type versionServer struct {
	*httptest.Server
	broken atomic.Bool
	hits   atomic.Int64
}

func newVersionServer(t *testing.T) *versionServer {
	t.Helper()
	s := &versionServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		version := r.Header.Get(proxy.VersionHeader)
		switch r.URL.Path {
		case "/checkout":
			if version == "canary" && s.broken.Load() {
				http.Error(w, "checkout is down", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "order placed by "+version)
		case "/slow":
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
			}
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			io.WriteString(w, r.Method+" "+string(b)+" to "+version)
		case "/moved":
			http.Redirect(w, r, "/checkout", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *versionServer) addr() string { return strings.TrimPrefix(s.URL, "http://") }

func get(path string) pipeline.HTTPCheck {
	return pipeline.HTTPCheck{Path: path, Method: "GET", ExpectStatus: 200, Every: time.Second, Timeout: 2 * time.Second}
}

func TestProbe(t *testing.T) {
	srv := newVersionServer(t)
	srv.broken.Store(true)
	withBody := func(c pipeline.HTTPCheck, body string) pipeline.HTTPCheck { c.ExpectBody = body; return c }
	post := get("/echo")
	post.Method, post.Body, post.ExpectBody = "POST", `{"sku":42}`, `POST {"sku":42} to canary`
	slow := get("/slow")
	slow.Timeout = 100 * time.Millisecond
	redirect := get("/moved")
	redirect.ExpectStatus = 302

	tests := []struct {
		name    string
		check   pipeline.HTTPCheck
		version proxy.Role
		verdict Verdict
		label   string
		reason  string // a part of the reason
	}{
		{"stable passes", withBody(get("/checkout"), "order placed"), proxy.Stable, Pass,
			`http GET /checkout expect 200 containing "order placed"`, ""},
		{"the header picks the version", withBody(get("/checkout"), "by stable"), proxy.Stable, Pass,
			`http GET /checkout expect 200 containing "by stable"`, ""},
		{"wrong status", get("/checkout"), proxy.Canary, Fail,
			"http GET /checkout expect 200", "status 503, want 200"},
		{"missing body text", withBody(get("/checkout"), "by canary"), proxy.Stable, Fail,
			`http GET /checkout expect 200 containing "by canary"`,
			`body (22 bytes) does not contain "by canary"`},
		{"method and body are sent", post, proxy.Canary, Pass,
			`http POST /echo expect 200 containing "POST {\"sku\":42} to canary"`, ""},
		{"timeout", slow, proxy.Canary, Fail,
			"http GET /slow expect 200", "/slow: no answer within 100ms"},
		{"redirects are not followed", redirect, proxy.Canary, Pass, "http GET /moved expect 302", ""},
	}
	p := &Prober{Addr: srv.addr()}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.Probe(t.Context(), tt.check, tt.version)
			if r.Verdict != tt.verdict || r.Check != tt.label || !strings.Contains(r.Reason, tt.reason) ||
				tt.verdict == Pass && r.Reason != "" {
				t.Errorf("Probe = %+v\nwant verdict %s, check %q, reason containing %q", r, tt.verdict, tt.label, tt.reason)
			}
			if tt.verdict == Pass && !strings.HasPrefix(r.Value, "200 in ") && !strings.HasPrefix(r.Value, "302 in ") {
				t.Errorf("Value = %q, want the status and the time", r.Value)
			}
		})
	}
}

func TestProbeConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := (&Prober{Addr: addr}).Probe(t.Context(), get("/checkout"), proxy.Canary)
	if r.Verdict != Fail || !strings.Contains(r.Reason, "connection refused") || r.Value != "" {
		t.Errorf("Probe = %+v, want a fail for the refused connection", r)
	}
}

// An analysis that stops while a check is out says nothing of the release.
func TestProbeCanceled(t *testing.T) {
	srv := newVersionServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	r := (&Prober{Addr: srv.addr()}).Probe(ctx, get("/slow"), proxy.Canary)
	if r.Verdict != Inconclusive || !strings.Contains(r.Reason, "analysis stopped") {
		t.Errorf("Probe = %+v, want inconclusive", r)
	}
}

// An environment listening on every interface is reached on the loopback address.
func TestProbeUnspecifiedAddress(t *testing.T) {
	srv := newVersionServer(t)
	_, port, _ := net.SplitHostPort(srv.addr())
	r := (&Prober{Addr: "0.0.0.0:" + port}).Probe(t.Context(), get("/checkout"), proxy.Stable)
	if r.Verdict != Pass {
		t.Errorf("Probe = %+v, want pass", r)
	}
}

func TestLoopback(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:9000":   "127.0.0.1:9000",
		"[::]:9000":      "[::1]:9000",
		"127.0.0.1:9000": "127.0.0.1:9000",
		"10.1.2.3:80":    "10.1.2.3:80",
		"localhost:9000": "localhost:9000",
		"[::1]:9000":     "[::1]:9000",
	} {
		if got := loopback(in); got != want {
			t.Errorf("loopback(%q) = %q, want %q", in, got, want)
		}
	}
}
