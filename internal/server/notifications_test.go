package server

import "testing"

func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://hooks.slack.com/services/T000/B000/XXXXSECRET": "https://hooks.slack.com/…",
		"http://127.0.0.1:9000":                                 "http://127.0.0.1:9000/",
		"http://127.0.0.1:9000/":                                "http://127.0.0.1:9000/",
		"https://user:pass@example.com/hook?token=abc":          "https://example.com/…",
		"not a url": "(hidden)",
	} {
		if got := redactURL(raw); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", raw, got, want)
		}
	}
}
