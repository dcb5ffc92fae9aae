package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/store"
)

// What every JSON endpoint does, written once: decode the body, check the project, answer the result as JSON
// or the error with its status. An endpoint is a function from the request (and its decoded body) to its
// answer or an error; handle and handleInProject make it an http.Handler.

// maxBody bounds request bodies; webhook payloads of large pushes stay far below it.
const maxBody = 5 << 20

// none is the body of an endpoint that reads none, and the answer of one that answers none (204).
type none struct{}

// apiError is an error answer: its status, and the text of its JSON body's "error".
type apiError struct {
	status int
	text   string
}

func (e *apiError) Error() string { return e.text }

// fail returns the error answer status with the formatted text.
func fail(status int, format string, args ...any) error {
	return &apiError{status: status, text: fmt.Sprintf(format, args...)}
}

// storeFailure maps a store error to its answer: not found is 404, exists is 409, the rest 500.
func storeFailure(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail(http.StatusNotFound, "%s not found", what)
	case errors.Is(err, store.ErrExists):
		return fail(http.StatusConflict, "%s already exists", what)
	default:
		return fail(http.StatusInternalServerError, "%s: %v", what, err)
	}
}

// handle makes fn an endpoint answering status: the request body is decoded into Req first (none reads
// nothing), then fn's answer is written as JSON (nothing for status 204), or its error as an error answer.
func handle[Req, Resp any](status int, fn func(r *http.Request, req Req) (Resp, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := decodeBody(w, r, &req); err != nil {
			writeFailure(w, err)
			return
		}
		answer(w, status, fn, r, req)
	})
}

// handleInProject is handle for an endpoint under /projects/{name}: it answers 404 before reading the body
// when the project does not exist, and gives fn the project's name.
func handleInProject[Req, Resp any](s *Server, status int, fn func(r *http.Request, project string, req Req) (Resp, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, err := s.project(r)
		if err != nil {
			writeFailure(w, err)
			return
		}
		var req Req
		if err := decodeBody(w, r, &req); err != nil {
			writeFailure(w, err)
			return
		}
		answer(w, status, func(r *http.Request, req Req) (Resp, error) { return fn(r, name, req) }, r, req)
	})
}

func answer[Req, Resp any](w http.ResponseWriter, status int, fn func(*http.Request, Req) (Resp, error), r *http.Request, req Req) {
	resp, err := fn(r, req)
	switch {
	case err != nil:
		writeFailure(w, err)
	case status == http.StatusNoContent:
		w.WriteHeader(status)
	default:
		writeJSON(w, status, resp)
	}
}

// decodeBody decodes a JSON request body into v; an empty body leaves v as it is, and none reads nothing.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if _, ok := v.(*none); ok {
		return nil
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fail(http.StatusBadRequest, "bad request body: %v", err)
	}
	return nil
}

// project returns the path's project name, or the 404 (or 500) answer when it does not exist.
func (s *Server) project(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if _, err := s.store.GetProject(r.Context(), name); err != nil {
		return "", storeFailure(err, "project "+name)
	}
	return name, nil
}

// pathID reads the numeric {id} of a run, release or rollout path; a bad one gets 400.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fail(http.StatusBadRequest, "invalid id %q: give the number ferry shows", r.PathValue("id"))
	}
	return id, nil
}

// queryLimit reads ?limit=, def when it is missing, not a number or not positive.
func queryLimit(r *http.Request, def int) int {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		return def
	}
	return limit
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, api.ErrorBody{Error: fmt.Sprintf(format, args...)})
}

// writeFailure answers err: with its status when it is an apiError, 500 otherwise.
func writeFailure(w http.ResponseWriter, err error) {
	if e, ok := errors.AsType[*apiError](err); ok {
		writeError(w, e.status, "%s", e.text)
		return
	}
	writeError(w, http.StatusInternalServerError, "%v", err)
}

// writeStoreError answers a store error; see storeFailure.
func writeStoreError(w http.ResponseWriter, err error, what string) {
	writeFailure(w, storeFailure(err, what))
}
