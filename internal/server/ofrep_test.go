package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

// twoEnvs is a .ferry.yaml declaring staging and production.
const twoEnvs = `version: 1
stages: [{name: build, steps: [{name: b, run: "true"}]}]
environments:
  - name: staging
    service: {run: ./app, listen: "127.0.0.1:18080"}
  - name: production
    after: staging
    service: {run: ./app, listen: "127.0.0.1:18081"}
`

// createFlagsToken asks the API for a flags token of web/env and returns the status and the answer.
func (f *apiFixture) createFlagsToken(t *testing.T, name, env string, origins ...string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "role": "flags", "project": "web", "env": env, "origins": origins})
	status, answer := f.do(t, "admin", "POST", "/api/v1/tokens", string(body))
	var v map[string]any
	if err := json.Unmarshal([]byte(answer), &v); err != nil {
		t.Fatalf("answer %q: %v", answer, err)
	}
	return status, v
}

// TestFlagsTokenEnvironment: a flags token is refused for an environment the project does not have, with the
// ones it has; before any release the environment cannot be checked, and the token comes with a warning.
func TestFlagsTokenEnvironment(t *testing.T) {
	f := newAPIFixture(t)
	ctx := context.Background()

	status, v := f.createFlagsToken(t, "early", "production")
	if status != 201 || !strings.Contains(v["warning"].(string), `project web has no release yet, so environment "production" could not be checked`) {
		t.Errorf("before any release: %d %v, want 201 with a warning", status, v)
	}

	rel := &store.Release{Project: "web", Pipeline: twoEnvs}
	if err := f.store.CreateRelease(ctx, rel); err != nil {
		t.Fatal(err)
	}
	status, v = f.createFlagsToken(t, "typo", "prod")
	if want := `environment "prod" of project web does not exist: its environments are production, staging`; status != 404 || v["error"] != want {
		t.Errorf("unknown environment: %d %v, want 404 %q", status, v, want)
	}
	status, v = f.createFlagsToken(t, "typo", "productoin")
	if want := `environment "productoin" of project web does not exist (did you mean "production"?): its environments are production, staging`; status != 404 || v["error"] != want {
		t.Errorf("misspelt environment: %d %v, want 404 %q", status, v, want)
	}
	status, v = f.createFlagsToken(t, "shop", "staging")
	if status != 201 || v["warning"] != nil {
		t.Errorf("declared environment: %d %v, want 201 without a warning", status, v)
	}
	// An environment the newest release no longer declares still serves its live release's flags.
	if err := f.store.PutEnvironment(ctx, &store.Environment{Project: "web", Name: "legacy", LiveReleaseID: rel.ID}); err != nil {
		t.Fatal(err)
	}
	if status, v = f.createFlagsToken(t, "old", "legacy"); status != 201 {
		t.Errorf("environment with a live release: %d %v, want 201", status, v)
	}
	// A release without environments: nothing to read flags from.
	if err := f.store.CreateRelease(ctx, &store.Release{Project: "web", Pipeline: "version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\n"}); err != nil {
		t.Fatal(err)
	}
	status, v = f.createFlagsToken(t, "none", "staging")
	if want := `environment "staging" of project web does not exist: its environments are legacy`; status != 404 || v["error"] != want {
		t.Errorf("after a release without environments: %d %v, want 404 %q", status, v, want)
	}
}

func TestFlagsTokenOrigins(t *testing.T) {
	f := newAPIFixture(t)
	for i, tt := range []struct {
		origins []string
		status  int
		want    string // the error, or the origins stored, space-separated
	}{
		{[]string{"https://Shop.Example:443", "http://localhost:3000", "https://shop.example"}, 201, "https://shop.example http://localhost:3000"},
		{[]string{"*"}, 201, "*"},
		{[]string{"https://shop.example/"}, 400, `origin "https://shop.example/": an origin has no path: write it without the trailing / (https://shop.example)`},
		{[]string{"https://shop.example/app"}, 400, `origin "https://shop.example/app": an origin is scheme://host[:port] only, without a path, query or fragment (https://shop.example)`},
		{[]string{"shop.example"}, 400, `origin "shop.example": give an origin like https://shop.example or http://localhost:3000, or * for any`},
		{[]string{"ftp://shop.example"}, 400, `origin "ftp://shop.example": an origin is http:// or https://, not ftp://`},
		{[]string{"https://shop.example:x"}, 400, `origin "https://shop.example:x": give an origin like https://shop.example or http://localhost:3000, or * for any`},
	} {
		status, v := f.createFlagsToken(t, fmt.Sprintf("web-%d", i), "production", tt.origins...)
		if status != tt.status {
			t.Errorf("origins %q: %d %v, want %d", tt.origins, status, v, tt.status)
			continue
		}
		if status != 201 {
			if v["error"] != tt.want {
				t.Errorf("origins %q: error %q, want %q", tt.origins, v["error"], tt.want)
			}
			continue
		}
		var got []string
		for _, o := range v["origins"].([]any) {
			got = append(got, o.(string))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("origins %q stored as %q, want %q", tt.origins, got, tt.want)
		}
	}
	status, body := f.do(t, "admin", "POST", "/api/v1/tokens", `{"name": "ci2", "role": "admin", "origins": ["https://shop.example"]}`)
	if status != 400 || !strings.Contains(body, "origins are for flags tokens") {
		t.Errorf("an admin token with origins: %d %s", status, body)
	}
}

// ofrep sends an OFREP request with the given headers and returns the response and its body.
func (f *apiFixture) ofrep(t *testing.T, method string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+"/ofrep/v1/evaluate/flags", strings.NewReader(`{"context": {"targetingKey": "u"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// TestOFREPFromBrowsers: a page on an origin a flags token allows gets through the preflight and reads flags
// with that token, sent either way OFREP allows; other origins, and tokens that do not allow the page's
// origin, are refused; revoking the token closes the origin at once.
func TestOFREPFromBrowsers(t *testing.T) {
	f := newAPIFixture(t)
	status, v := f.createFlagsToken(t, "shop-web", "production", "https://shop.example")
	if status != 201 {
		t.Fatalf("create: %d %v", status, v)
	}
	tok := v["token"].(string)
	preflight := func(origin string) *http.Response {
		resp, _ := f.ofrep(t, "OPTIONS", "Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "x-api-key, content-type")
		return resp
	}
	if resp := preflight("https://shop.example"); resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("preflight from the allowed origin: %d, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if resp := preflight("https://evil.example"); resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}

	for _, tt := range []struct {
		name   string
		header []string
		status int
		body   string
		acao   string
	}{
		{"X-API-Key from the page", []string{"Origin", "https://shop.example", "X-API-Key", tok}, 200, `{"flags":[]}`, "https://shop.example"},
		{"Bearer from the page", []string{"Origin", "https://shop.example", "Authorization", "Bearer " + tok}, 200, `{"flags":[]}`, "https://shop.example"},
		{"X-API-Key from a server", []string{"X-API-Key", tok}, 200, `{"flags":[]}`, ""},
		{"from another origin", []string{"Origin", "https://evil.example", "X-API-Key", tok}, 403,
			`{"errorDetails":"token shop-web may not be used by pages from https://evil.example: create a flags token for them with --allow-origin https://evil.example"}`, ""},
		{"a token without origins from the page", []string{"Origin", "https://shop.example", "Authorization", "Bearer " + f.tokens["flags"]}, 403,
			`{"errorDetails":"token app may not be used by pages from https://shop.example: create a flags token for them with --allow-origin https://shop.example"}`, "https://shop.example"},
		{"an unknown X-API-Key", []string{"X-API-Key", "nope"}, 401, `{"errorDetails":"invalid token"}`, ""},
		{"no token", nil, 401,
			`{"errorDetails":"missing token: send a flags token as Authorization: Bearer TOKEN or X-API-Key: TOKEN (ferry token create NAME --flags PROJECT/ENV)"}`, ""},
		{"an admin token as X-API-Key", []string{"X-API-Key", f.tokens["admin"]}, 403,
			`{"errorDetails":"token root is not a flags token: flags are read with a token scoped to one environment (ferry token create NAME --flags PROJECT/ENV)"}`, ""},
	} {
		resp, body := f.ofrep(t, "POST", tt.header...)
		if resp.StatusCode != tt.status || strings.TrimSpace(body) != tt.body || resp.Header.Get("Access-Control-Allow-Origin") != tt.acao {
			t.Errorf("%s: %d %s, Allow-Origin %q; want %d %s, %q", tt.name, resp.StatusCode, body,
				resp.Header.Get("Access-Control-Allow-Origin"), tt.status, tt.body, tt.acao)
		}
	}

	if status, body := f.do(t, "admin", "DELETE", "/api/v1/tokens/shop-web", ""); status != 204 {
		t.Fatalf("revoke: %d %s", status, body)
	}
	if resp := preflight("https://shop.example"); resp.StatusCode != 403 {
		t.Errorf("preflight after the token was revoked: %d, want 403", resp.StatusCode)
	}
}
