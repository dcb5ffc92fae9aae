package ofrep

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/flags"
)

const testFlags = `flags:
  bool-flag:
    variants: {on: true, off: false}
    default: off
    rules:
      - if: {attribute: email, ends_with: "@example.com"}
        variant: on
      - rollout: {on: 50%, off: 50%}
  string-flag:
    variants: {short: "Buy", long: "Buy now, ship today"}
    default: short
  int-flag:
    variants: {low: 10, high: 1000}
    default: high
  float-flag:
    variants: {pi: 3.14159, e: 2.71828}
    default: pi
  object-flag:
    variants:
      dark: {bg: "#000", sizes: [1, 2], beta: true}
      light: {bg: "#fff"}
    default: dark
  org-flag:
    variants: {on: true, off: false}
    default: off
    bucket_by: org
    rules:
      - if: {attribute: country, equals: de}
        rollout: {on: 50%, off: 50%}
  disabled-flag:
    variants: {on: true, off: false}
    default: off
    disabled: true
`

// source is a Source for tests: it wants "Authorization: Bearer secret" and serves set, st and version.
type source struct {
	set     *flags.Set
	st      *flags.State
	version string
	err     error // returned instead, when set
	calls   atomic.Int64
	auth    atomic.Value // the last Authorization header seen
}

func (s *source) Flags(r *http.Request) (*flags.Set, *flags.State, string, error) {
	s.calls.Add(1)
	s.auth.Store(r.Header.Get("Authorization"))
	if s.err != nil {
		return nil, nil, "", s.err
	}
	switch r.Header.Get("Authorization") {
	case "Bearer secret":
		return s.set, s.st, s.version, nil
	case "":
		return nil, nil, "", &StatusError{Status: http.StatusUnauthorized, Message: "send a token: Authorization: Bearer TOKEN"}
	}
	return nil, nil, "", &StatusError{Status: http.StatusForbidden, Message: "this token may not read production"}
}

func newSource(t testing.TB) *source {
	t.Helper()
	set, err := flags.Parse(flags.FileName, []byte(testFlags))
	if err != nil {
		t.Fatal(err)
	}
	return &source{set: set, version: "release-7"}
}

// do sends a request to h with the token "secret" unless header says otherwise, and returns the
// response with its body.
func do(t testing.TB, h http.Handler, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer secret")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.String()
}

// sameJSON fails t unless got and want hold equal JSON values.
func sameJSON(t testing.TB, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("response body is not JSON (%v): %q", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body\n got %s\nwant %s", strings.TrimSpace(got), want)
	}
}

// splitVariant is what a 50/50 on/off rollout gives value in flag key.
func splitVariant(key, value string) (string, bool) {
	if flags.Bucket(key, value) < 5000 {
		return "on", true
	}
	return "off", false
}

func TestSingle(t *testing.T) {
	src := newSource(t)
	h := Handler(src)
	const path = "/ofrep/v1/evaluate/flags/"
	splitName, splitValue := splitVariant("bool-flag", "user-1")
	splitBody, _ := json.Marshal(map[string]any{"key": "bool-flag", "value": splitValue, "reason": "SPLIT", "variant": splitName})
	tests := []struct {
		name   string
		key    string
		body   string
		status int
		want   string
	}{
		{"boolean, targeting match", "bool-flag", `{"context": {"targetingKey": "user-1", "email": "ann@example.com"}}`, 200,
			`{"key": "bool-flag", "value": true, "reason": "TARGETING_MATCH", "variant": "on"}`},
		{"boolean, split", "bool-flag", `{"context": {"targetingKey": "user-1"}}`, 200, string(splitBody)},
		{"string, static", "string-flag", `{"context": {}}`, 200,
			`{"key": "string-flag", "value": "Buy", "reason": "STATIC", "variant": "short"}`},
		{"integer", "int-flag", `{"context": {}}`, 200, `{"key": "int-flag", "value": 1000, "reason": "STATIC", "variant": "high"}`},
		{"float", "float-flag", `{"context": {}}`, 200, `{"key": "float-flag", "value": 3.14159, "reason": "STATIC", "variant": "pi"}`},
		{"object", "object-flag", `{"context": {}}`, 200,
			`{"key": "object-flag", "value": {"bg": "#000", "sizes": [1, 2], "beta": true}, "reason": "STATIC", "variant": "dark"}`},
		// As flagd: no value and no variant, so that every provider returns the code default.
		{"disabled", "disabled-flag", `{"context": {}}`, 200, `{"key": "disabled-flag", "reason": "DISABLED"}`},
		{"default", "org-flag", `{"context": {"country": "fr"}}`, 200, `{"key": "org-flag", "value": false, "reason": "DEFAULT", "variant": "off"}`},
		{"empty body", "string-flag", ``, 200, `{"key": "string-flag", "value": "Buy", "reason": "STATIC", "variant": "short"}`},
		{"no context", "string-flag", `{}`, 200, `{"key": "string-flag", "value": "Buy", "reason": "STATIC", "variant": "short"}`},
		{"null context", "string-flag", `{"context": null}`, 200, `{"key": "string-flag", "value": "Buy", "reason": "STATIC", "variant": "short"}`},
		{"unknown fields are ignored", "string-flag", `{"context": {}, "flags": ["x"]}`, 200,
			`{"key": "string-flag", "value": "Buy", "reason": "STATIC", "variant": "short"}`},

		{"FLAG_NOT_FOUND", "nope", `{"context": {}}`, 404, `{"key": "nope", "errorCode": "FLAG_NOT_FOUND", "errorDetails": "flag \"nope\" not found"}`},
		{"TARGETING_KEY_MISSING", "bool-flag", `{"context": {"email": "bob@example.org"}}`, 400,
			`{"key": "bool-flag", "errorCode": "TARGETING_KEY_MISSING", "errorDetails": "flag \"bool-flag\" splits users by targetingKey; send a non-empty targetingKey in the evaluation context"}`},
		{"missing bucket_by attribute: the default, as flagd", "org-flag", `{"context": {"targetingKey": "u", "country": "de"}}`, 200,
			`{"key": "org-flag", "value": false, "reason": "DEFAULT", "variant": "off"}`},
		{"INVALID_CONTEXT, bucket_by attribute not a string", "org-flag", `{"context": {"org": 7, "country": "de"}}`, 400,
			`{"key": "org-flag", "errorCode": "INVALID_CONTEXT", "errorDetails": "flag \"org-flag\" splits users by the attribute \"org\", which must be a string, not a number"}`},
		{"INVALID_CONTEXT, context not an object", "string-flag", `{"context": ["targetingKey"]}`, 400,
			`{"key": "string-flag", "errorCode": "INVALID_CONTEXT", "errorDetails": "\"context\" must be a JSON object, not a list"}`},
		{"INVALID_CONTEXT, body too large", "string-flag", `{"context": {"x": "` + strings.Repeat("x", MaxBodyBytes) + `"}}`, 400,
			`{"key": "string-flag", "errorCode": "INVALID_CONTEXT", "errorDetails": "the request body is larger than 65536 bytes"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, h, "POST", path+tt.key, tt.body)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			sameJSON(t, body, tt.want)
		})
	}
	// PARSE_ERROR details come from encoding/json; check the code and the start of the details.
	for _, body := range []string{`{"context": {`, `[1, 2]`, `{"context": {}} trailing`, `"context"`} {
		resp, got := do(t, h, "POST", path+"string-flag", body)
		var f evaluationFailure
		if resp.StatusCode != 400 || json.Unmarshal([]byte(got), &f) != nil || f.Key != "string-flag" || f.ErrorCode != flags.ParseError ||
			!strings.HasPrefix(f.ErrorDetails, "the request body must be a JSON object like ") {
			t.Errorf("body %q: %d %s", body, resp.StatusCode, got)
		}
	}
}

func TestOverrideAndGeneral(t *testing.T) {
	src := newSource(t)
	src.st = &flags.State{Overrides: map[string]string{"bool-flag": "off", "string-flag": "gone"}}
	h := Handler(src)
	resp, body := do(t, h, "POST", "/ofrep/v1/evaluate/flags/bool-flag", `{"context": {"email": "ann@example.com"}}`)
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	sameJSON(t, body, `{"key": "bool-flag", "value": false, "reason": "STATIC", "variant": "off", "metadata": {"override": true}}`)
	resp, body = do(t, h, "POST", "/ofrep/v1/evaluate/flags/string-flag", `{}`)
	if resp.StatusCode != 400 {
		t.Errorf("status %d", resp.StatusCode)
	}
	sameJSON(t, body, `{"key": "string-flag", "errorCode": "GENERAL", "errorDetails": "the override of flag \"string-flag\" names \"gone\", which is not one of its variants (short, long)"}`)
}

func TestSourceErrors(t *testing.T) {
	src := newSource(t)
	h := Handler(src)
	for _, path := range []string{"/ofrep/v1/evaluate/flags/bool-flag", "/ofrep/v1/evaluate/flags"} {
		resp, body := do(t, h, "POST", path, `{}`, "Authorization", "")
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%s without a token: %d, WWW-Authenticate %q", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		sameJSON(t, body, `{"errorDetails": "send a token: Authorization: Bearer TOKEN"}`)
		resp, body = do(t, h, "POST", path, `{}`, "Authorization", "Bearer other")
		if resp.StatusCode != 403 {
			t.Errorf("%s with another token: %d", path, resp.StatusCode)
		}
		sameJSON(t, body, `{"errorDetails": "this token may not read production"}`)
	}
	for _, tt := range []struct {
		err        error
		status     int
		retryAfter string
		header     [2]string
		want       string
	}{
		{&StatusError{Status: 429, RetryAfter: 1500 * time.Millisecond}, 429, "2", [2]string{}, `{"errorDetails": "Too Many Requests"}`},
		{&StatusError{Status: 503, Message: "starting", RetryAfter: 3 * time.Second}, 503, "3", [2]string{}, `{"errorDetails": "starting"}`},
		{&StatusError{Status: 401, Header: http.Header{"Www-Authenticate": {`Bearer realm="ferry"`}}}, 401, "",
			[2]string{"WWW-Authenticate", `Bearer realm="ferry"`}, `{"errorDetails": "Unauthorized"}`},
		{errors.New("store: database is locked"), 500, "", [2]string{}, `{"errorDetails": "internal error"}`},
		{&StatusError{Status: 200}, 500, "", [2]string{}, `{"errorDetails": "internal error"}`},
	} {
		src.err = tt.err
		resp, body := do(t, h, "POST", "/ofrep/v1/evaluate/flags/bool-flag", `{}`)
		if resp.StatusCode != tt.status || resp.Header.Get("Retry-After") != tt.retryAfter ||
			(tt.header[0] != "" && resp.Header.Get(tt.header[0]) != tt.header[1]) {
			t.Errorf("%v: %d, headers %v", tt.err, resp.StatusCode, resp.Header)
		}
		sameJSON(t, body, tt.want)
	}
	if got := (&StatusError{Status: 403, Message: "no"}).Error(); got != "403 Forbidden: no" {
		t.Errorf("Error() = %q", got)
	}
}

func TestRouting(t *testing.T) {
	h := Handler(newSource(t))
	resp, _ := do(t, h, "GET", "/ofrep/v1/evaluate/flags/bool-flag", "")
	if resp.StatusCode != 405 || resp.Header.Get("Allow") == "" {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	for _, path := range []string{"/ofrep/v1/evaluate/flag/x", "/ofrep/v2/evaluate/flags", "/ofrep/v1/evaluate/flags/a/b"} {
		if resp, _ := do(t, h, "POST", path, "{}"); resp.StatusCode != 404 {
			t.Errorf("POST %s: %d", path, resp.StatusCode)
		}
	}
	// A key is one path segment, escaped or not.
	resp, body := do(t, h, "POST", "/ofrep/v1/evaluate/flags/a%2Fb", "{}")
	if resp.StatusCode != 404 {
		t.Errorf("a%%2Fb: %d", resp.StatusCode)
	}
	sameJSON(t, body, `{"key": "a/b", "errorCode": "FLAG_NOT_FOUND", "errorDetails": "flag \"a/b\" not found"}`)
}

func TestBulk(t *testing.T) {
	src := newSource(t)
	src.st = &flags.State{Overrides: map[string]string{"float-flag": "e"}}
	h := Handler(src)
	const path = "/ofrep/v1/evaluate/flags"
	body := `{"context": {"targetingKey": "user-1", "country": "de"}}`
	resp, got := do(t, h, "POST", path, body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	splitName, splitValue := splitVariant("bool-flag", "user-1")
	boolJSON, _ := json.Marshal(map[string]any{"key": "bool-flag", "value": splitValue, "reason": "SPLIT", "variant": splitName})
	sameJSON(t, got, `{"flags": [
		`+string(boolJSON)+`,
		{"key": "disabled-flag", "reason": "DISABLED"},
		{"key": "float-flag", "value": 2.71828, "reason": "STATIC", "variant": "e", "metadata": {"override": true}},
		{"key": "int-flag", "value": 1000, "reason": "STATIC", "variant": "high"},
		{"key": "object-flag", "value": {"bg": "#000", "sizes": [1, 2], "beta": true}, "reason": "STATIC", "variant": "dark"},
		{"key": "org-flag", "value": false, "reason": "DEFAULT", "variant": "off"},
		{"key": "string-flag", "value": "Buy", "reason": "STATIC", "variant": "short"}
	]}`)
	tag := resp.Header.Get("ETag")
	if len(tag) != 34 || tag[0] != '"' || tag[33] != '"' {
		t.Fatalf("ETag %q, want a strong tag", tag)
	}

	// The same context and version: 304 without a body, with the ETag.
	for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
		resp, got := do(t, h, "POST", path, body, "If-None-Match", inm)
		if resp.StatusCode != 304 || got != "" || resp.Header.Get("ETag") != tag {
			t.Errorf("If-None-Match %s: %d, ETag %q, body %q", inm, resp.StatusCode, resp.Header.Get("ETag"), got)
		}
	}
	// The same context spelt otherwise (spaces, key order, escapes, number spelling, other fields): the
	// same ETag, so a client that re-encodes its context keeps its cache.
	for _, same := range []string{
		`{"context":{"country":"de","targetingKey":"user-1"}}`,
		"{\n  \"context\" : {\"country\": \"d\\u0065\",\t\"targetingKey\": \"user-1\"}, \"extra\": [1]\n}",
	} {
		resp, _ := do(t, h, "POST", path, same, "If-None-Match", tag)
		if resp.StatusCode != 304 || resp.Header.Get("ETag") != tag {
			t.Errorf("the same context as %s: %d, ETag %q, want 304 and %s", same, resp.StatusCode, resp.Header.Get("ETag"), tag)
		}
	}
	nums := func(body string) string {
		resp, _ := do(t, h, "POST", path, body)
		return resp.Header.Get("ETag")
	}
	if a, b := nums(`{"context": {"n": 1}}`), nums(`{"context": {"n": 1.0e0}}`); a != b {
		t.Errorf("1 and 1.0e0 give ETags %s and %s, want one", a, b)
	}
	// Another tag, another context or another version: 200 and, for the last two, another ETag.
	if resp, _ := do(t, h, "POST", path, body, "If-None-Match", `"other"`); resp.StatusCode != 200 || resp.Header.Get("ETag") != tag {
		t.Errorf("If-None-Match another tag: %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	resp, _ = do(t, h, "POST", path, `{"context": {"targetingKey": "user-2", "country": "de"}}`, "If-None-Match", tag)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == tag {
		t.Errorf("another context: %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	src.version = "release-7+override-1"
	resp, _ = do(t, h, "POST", path, body, "If-None-Match", tag)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == tag {
		t.Errorf("another version: %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	// Without a version there is no ETag, and If-None-Match cannot match.
	src.version = ""
	resp, _ = do(t, h, "POST", path, body, "If-None-Match", "*")
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != "" {
		t.Errorf("no version: %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
}

func TestBulkErrors(t *testing.T) {
	src := newSource(t)
	h := Handler(src)
	const path = "/ofrep/v1/evaluate/flags"
	resp, body := do(t, h, "POST", path, `{"context": 5}`)
	if resp.StatusCode != 400 {
		t.Errorf("status %d", resp.StatusCode)
	}
	sameJSON(t, body, `{"errorCode": "INVALID_CONTEXT", "errorDetails": "\"context\" must be a JSON object, not a number"}`)
	resp, body = do(t, h, "POST", path, `{"context": {"a": }}`)
	var f map[string]any
	if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &f) != nil || f["errorCode"] != "PARSE_ERROR" || f["key"] != nil {
		t.Errorf("malformed body: %d %s", resp.StatusCode, body)
	}
	// An empty set has no flags.
	src.set = nil
	resp, body = do(t, h, "POST", path, `{}`)
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	sameJSON(t, body, `{"flags": []}`)
}

func TestNoneMatch(t *testing.T) {
	const tag = `"abc"`
	for _, tt := range []struct {
		headers []string
		want    bool
	}{
		{nil, false},
		{[]string{`"abc"`}, true},
		{[]string{`W/"abc"`}, true},
		{[]string{` "x" , "abc" `}, true},
		{[]string{`"x"`, `"abc"`}, true},
		{[]string{`*`}, true},
		{[]string{`abc`}, false},
		{[]string{`"abcd"`}, false},
		{[]string{``}, false},
	} {
		if got := noneMatch(tt.headers, tag); got != tt.want {
			t.Errorf("noneMatch(%q) = %v, want %v", tt.headers, got, tt.want)
		}
	}
	if etag("a", map[string]any{"bc": ""}) == etag("a\"bc", map[string]any{}) {
		t.Error("etag does not separate the version from the context")
	}
}
