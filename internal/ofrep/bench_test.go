package ofrep

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkOFREPSingle measures one single-flag evaluation through the handler, in process: a targeted
// flag whose rule misses, decided by its split.
func BenchmarkOFREPSingle(b *testing.B) {
	h := Handler(newSource(b))
	const body = `{"context":{"targetingKey":"6f1c2a7e-8d4b-4e3a-9b1f-2c5d7e9a0b3c","email":"ann@example.org","plan":"pro"}}`
	check := httptest.NewRecorder()
	h.ServeHTTP(check, benchRequest(body))
	if check.Code != 200 || !strings.Contains(check.Body.String(), `"reason":"SPLIT"`) {
		b.Fatalf("%d %s", check.Code, check.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), benchRequest(body))
	}
}

func benchRequest(body string) *http.Request {
	req := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags/bool-flag", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("Content-Type", "application/json")
	return req
}
