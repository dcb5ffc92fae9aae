package analysis

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// TestProbeNamesTheHostOverTLS: an environment that shares its address by host name and terminates TLS is
// probed with its host, as Host and as the TLS server name, over HTTPS.
func TestProbeNamesTheHostOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "shop.example.com" || r.TLS == nil || r.TLS.ServerName != "shop.example.com" {
			http.Error(w, "wrong host "+r.Host, http.StatusNotFound)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	p := &Prober{Addr: strings.TrimPrefix(srv.URL, "https://"), Host: "shop.example.com", TLS: true}
	res := p.Probe(context.Background(), pipeline.HTTPCheck{Path: "/", Method: "GET", ExpectStatus: 200, Timeout: 5 * time.Second}, proxy.Stable)
	if res.Verdict != Pass {
		t.Errorf("probe: %s %s", res.Verdict, res.Reason)
	}
}
