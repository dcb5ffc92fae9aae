package ofrep

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// corsSource is a test source that lets pages from shop.example call it.
type corsSource struct{ *source }

func (corsSource) AllowsOrigin(_ *http.Request, origin string) bool {
	return origin == "https://shop.example"
}

func TestCORS(t *testing.T) {
	const path = "/ofrep/v1/evaluate/flags"
	withCORS := Handler(corsSource{newSource(t)})
	without := Handler(newSource(t))
	preflight := []string{"Authorization", "", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type,if-none-match"}
	for _, tt := range []struct {
		name    string
		h       http.Handler
		method  string
		header  []string
		status  int
		allowed bool // Access-Control-Allow-Origin is the origin
	}{
		{"preflight from an allowed origin", withCORS, "OPTIONS", append([]string{"Origin", "https://shop.example"}, preflight...), 204, true},
		{"preflight from another origin", withCORS, "OPTIONS", append([]string{"Origin", "https://evil.example"}, preflight...), 403, false},
		{"preflight, the origin with another port", withCORS, "OPTIONS", append([]string{"Origin", "https://shop.example:8443"}, preflight...), 403, false},
		{"preflight to a source that allows no origin", without, "OPTIONS", append([]string{"Origin", "https://shop.example"}, preflight...), 403, false},
		{"request from an allowed origin", withCORS, "POST", []string{"Origin", "https://shop.example"}, 200, true},
		{"error from an allowed origin", withCORS, "POST", []string{"Origin", "https://shop.example", "Authorization", "Bearer wrong"}, 403, true},
		{"request from another origin", withCORS, "POST", []string{"Origin", "https://evil.example"}, 200, false},
		{"request without an origin", withCORS, "POST", nil, 200, false},
		{"OPTIONS that is no preflight", withCORS, "OPTIONS", []string{"Authorization", ""}, 204, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.h, tt.method, path, `{"context": {"targetingKey": "u"}}`, tt.header...)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary %q, want Origin: the answer depends on it", resp.Header.Values("Vary"))
			}
			acao := resp.Header.Get("Access-Control-Allow-Origin")
			switch {
			case tt.allowed && acao != "https://shop.example":
				t.Errorf("Access-Control-Allow-Origin %q, want the origin", acao)
			case !tt.allowed && acao != "":
				t.Errorf("Access-Control-Allow-Origin %q for an origin not allowed", acao)
			}
			if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials allowed: OFREP reads a token, never a cookie")
			}
			if !tt.allowed {
				return
			}
			if tt.method == "OPTIONS" {
				for k, want := range map[string]string{
					"Access-Control-Allow-Methods": "POST",
					"Access-Control-Allow-Headers": "Authorization, X-API-Key, Content-Type, If-None-Match",
					"Access-Control-Max-Age":       "600",
				} {
					if got := resp.Header.Get(k); got != want {
						t.Errorf("%s %q, want %q", k, got, want)
					}
				}
			} else if got := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "ETag") {
				t.Errorf("Access-Control-Expose-Headers %q: a page cannot read the ETag it must send back", got)
			}
		})
	}
	resp, _ := do(t, withCORS, "OPTIONS", path, "", "Authorization", "")
	if resp.Header.Get("Allow") != "POST, OPTIONS" {
		t.Errorf("OPTIONS: Allow %q", resp.Header.Get("Allow"))
	}
}

func TestSameOrigin(t *testing.T) {
	r := httptest.NewRequest("POST", "http://ferry.example:8080/ofrep/v1/evaluate/flags", nil)
	for origin, want := range map[string]bool{
		"http://ferry.example:8080":  true,
		"HTTP://Ferry.Example:8080":  true,
		"https://ferry.example:8080": false,
		"http://ferry.example":       false,
		"http://shop.example:8080":   false,
		"null":                       false,
	} {
		if got := SameOrigin(r, origin); got != want {
			t.Errorf("SameOrigin(%s) = %v, want %v", origin, got, want)
		}
	}
}
