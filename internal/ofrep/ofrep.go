// Package ofrep serves feature flags over the OpenFeature Remote Evaluation Protocol (OFREP), so that any
// OpenFeature SDK with an OFREP provider evaluates ferry's flags: POST /ofrep/v1/evaluate/flags/{key} for
// one flag and POST /ofrep/v1/evaluate/flags for all of them, with the request and response bodies,
// status codes and ETag caching of open-feature/protocol's service/openapi.yaml, and the CORS headers that
// let web pages on the origins its Source allows call it from a browser.
//
// It owns the protocol and nothing else: which project and environment a request reads, and whether it may,
// is its Source's business, so it imports internal/flags and the standard library only, never the server.
package ofrep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-cd/ferry/internal/flags"
)

// MaxBodyBytes bounds a request body. An evaluation context is a few hundred bytes; a larger body is
// refused with 400 INVALID_CONTEXT.
const MaxBodyBytes = 64 << 10

// Source resolves the flags a request evaluates.
type Source interface {
	// Flags authenticates r and returns the live flag set of the project and environment it reads, the
	// runtime state to apply (nil for none), and a version that changes whenever the set or the state
	// does; "" turns ETags off. A *StatusError chooses the response (401, 403, 429...); any other error is
	// logged and answered 500. Flags is called once per request, concurrently.
	Flags(r *http.Request) (set *flags.Set, st *flags.State, version string, err error)
}

// Origins is implemented by a Source that lets web pages on other origins call OFREP from a browser (CORS).
// The handler of a Source without it answers no browser on another origin.
type Origins interface {
	// AllowsOrigin reports whether pages from origin (as browsers send it: "https://shop.example") may
	// call OFREP at all. It answers the preflight, which carries no credentials and so cannot say what
	// it will read; the actual request's credentials are Flags' to check, origin included.
	AllowsOrigin(r *http.Request, origin string) bool
}

// SourceFunc adapts a function to Source.
type SourceFunc func(r *http.Request) (*flags.Set, *flags.State, string, error)

// Flags returns f(r).
func (f SourceFunc) Flags(r *http.Request) (*flags.Set, *flags.State, string, error) { return f(r) }

// StatusError is an error a Source returns to answer with Status, such as 401 for a missing or unknown
// token, 403 for a token that may not read the environment, or 429 when rate-limited.
type StatusError struct {
	Status int
	// Message is sent as errorDetails; "" sends the status text.
	Message string
	// RetryAfter, for 429 and 503, is sent as Retry-After in whole seconds, rounded up; 0 sends none.
	RetryAfter time.Duration
	// Header holds more response headers. A 401 without WWW-Authenticate gets "WWW-Authenticate: Bearer".
	Header http.Header
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Handler returns the OFREP handler of the flags src resolves. It serves the paths above, from the root:
// mount it at "/ofrep/".
func Handler(src Source) http.Handler {
	h := &handler{src: src}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ofrep/v1/evaluate/flags/{key}", h.single)
	mux.HandleFunc("POST /ofrep/v1/evaluate/flags", h.bulk)
	origins, _ := src.(Origins)
	return cors(origins, mux)
}

type handler struct{ src Source }

// The response bodies of the OpenAPI specification.
type (
	// evaluationSuccess has no value and no variant for a disabled flag.
	evaluationSuccess struct {
		Key      string         `json:"key"`
		Value    any            `json:"value,omitempty"`
		Reason   flags.Reason   `json:"reason"`
		Variant  string         `json:"variant,omitempty"`
		Metadata map[string]any `json:"metadata,omitempty"`
	}
	// evaluationFailure is also flagNotFound, with errorCode FLAG_NOT_FOUND.
	evaluationFailure struct {
		Key          string          `json:"key"`
		ErrorCode    flags.ErrorCode `json:"errorCode"`
		ErrorDetails string          `json:"errorDetails,omitempty"`
	}
	bulkEvaluationSuccess struct {
		Flags []any `json:"flags"`
	}
	bulkEvaluationFailure struct {
		ErrorCode    flags.ErrorCode `json:"errorCode"`
		ErrorDetails string          `json:"errorDetails,omitempty"`
	}
	generalErrorResponse struct {
		ErrorDetails string `json:"errorDetails"`
	}
)

// requestError is a request the handler cannot evaluate: 400 with code.
type requestError struct {
	code flags.ErrorCode
	msg  string
}

func (h *handler) single(w http.ResponseWriter, r *http.Request) {
	set, st, _, err := h.src.Flags(r)
	if err != nil {
		sourceError(w, r, err)
		return
	}
	key := r.PathValue("key")
	ctx, rerr := readRequest(w, r)
	if rerr != nil {
		writeJSON(w, http.StatusBadRequest, evaluationFailure{Key: key, ErrorCode: rerr.code, ErrorDetails: rerr.msg})
		return
	}
	res := set.Evaluate(key, ctx, st)
	switch res.ErrorCode {
	case "":
		writeJSON(w, http.StatusOK, success(res))
	case flags.FlagNotFound:
		writeJSON(w, http.StatusNotFound, failure(res))
	default:
		writeJSON(w, http.StatusBadRequest, failure(res))
	}
}

func (h *handler) bulk(w http.ResponseWriter, r *http.Request) {
	set, st, version, err := h.src.Flags(r)
	if err != nil {
		sourceError(w, r, err)
		return
	}
	ctx, rerr := readRequest(w, r)
	if rerr != nil {
		writeJSON(w, http.StatusBadRequest, bulkEvaluationFailure{ErrorCode: rerr.code, ErrorDetails: rerr.msg})
		return
	}
	if version != "" {
		tag := etag(version, ctx)
		w.Header().Set("ETag", tag)
		if noneMatch(r.Header.Values("If-None-Match"), tag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	results := set.EvaluateAll(ctx, st)
	out := bulkEvaluationSuccess{Flags: make([]any, len(results))}
	for i, res := range results {
		if res.ErrorCode != "" {
			out.Flags[i] = failure(res)
		} else {
			out.Flags[i] = success(res)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func success(res flags.Result) evaluationSuccess {
	if res.Reason == flags.Disabled {
		// As flagd answers a disabled flag: no value, so that every provider returns the app's code
		// default (the Go provider does on the reason alone; the JS providers use a value when there is one).
		return evaluationSuccess{Key: res.Key, Reason: res.Reason, Metadata: res.Metadata}
	}
	return evaluationSuccess{Key: res.Key, Value: res.Value, Reason: res.Reason, Variant: res.Variant, Metadata: res.Metadata}
}

func failure(res flags.Result) evaluationFailure {
	return evaluationFailure{Key: res.Key, ErrorCode: res.ErrorCode, ErrorDetails: res.ErrorMessage}
}

// readRequest reads the body, {"context": {...}}, and returns its context. An empty body, a missing context
// and "context": null are an empty context.
func readRequest(w http.ResponseWriter, r *http.Request) (map[string]any, *requestError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &requestError{flags.InvalidContext, fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes)}
		}
		return nil, &requestError{flags.ParseError, "read the request body: " + err.Error()}
	}
	if strings.TrimSpace(string(body)) == "" {
		return map[string]any{}, nil
	}
	var req struct {
		Context any `json:"context"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &requestError{flags.ParseError, `the request body must be a JSON object like {"context": {"targetingKey": "user-1"}}: ` + err.Error()}
	}
	switch c := req.Context.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return c, nil
	}
	return nil, &requestError{flags.InvalidContext, fmt.Sprintf(`"context" must be a JSON object, not %s`, jsonType(req.Context))}
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "true/false"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}

// etag is a strong entity tag for the bulk response to the evaluation context ctx under version: the
// response is a function of the two. It hashes ctx in one canonical JSON form (keys sorted, numbers and
// strings in encoding/json's spelling), so that how a client spaces, orders or escapes its body, or what
// else it sends besides the context, does not change the tag.
func etag(version string, ctx map[string]any) string {
	canonical, err := json.Marshal(ctx)
	if err != nil {
		// A context decoded from JSON always encodes; if it did not, no tag could match it.
		canonical = []byte(err.Error())
	}
	h := sha256.New()
	h.Write([]byte(strconv.Itoa(len(version))))
	h.Write([]byte{':'})
	h.Write([]byte(version))
	h.Write(canonical)
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// noneMatch reports whether If-None-Match headers (comma-separated lists of entity tags, or "*") match
// tag, comparing weakly as RFC 9110 says for If-None-Match.
func noneMatch(headers []string, tag string) bool {
	for _, h := range headers {
		for part := range strings.SplitSeq(h, ",") {
			t := strings.TrimSpace(part)
			if t == "*" || strings.TrimPrefix(t, "W/") == tag {
				return true
			}
		}
	}
	return false
}

// sourceError answers a request whose Source failed.
func sourceError(w http.ResponseWriter, r *http.Request, err error) {
	se, ok := errors.AsType[*StatusError](err)
	if !ok || se.Status < 400 || se.Status > 599 {
		slog.ErrorContext(r.Context(), "ofrep: resolve flags", "path", r.URL.Path, "error", err)
		writeJSON(w, http.StatusInternalServerError, generalErrorResponse{ErrorDetails: "internal error"})
		return
	}
	for k, vs := range se.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if se.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	if se.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((se.RetryAfter+time.Second-1)/time.Second), 10))
	}
	msg := se.Message
	if msg == "" {
		msg = http.StatusText(se.Status)
	}
	writeJSON(w, se.Status, generalErrorResponse{ErrorDetails: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Flag values come from a parsed Set and always encode; this is a bug, not a request's fault.
		status, b = http.StatusInternalServerError, []byte(`{"errorDetails":"internal error: encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
