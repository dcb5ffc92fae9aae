package server

import (
	"net/http"
	"net/url"
	"strconv"
)

func (s *Server) handleListNotifications(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 100
	}
	ns, err := s.store.ListNotifications(r.Context(), r.URL.Query().Get("project"), limit)
	if err != nil {
		writeStoreError(w, err, "notifications")
		return
	}
	for _, n := range ns {
		n.URL = redactURL(n.URL)
	}
	writeJSON(w, http.StatusOK, viewAll(ns, viewNotification))
}

// redactURL keeps a sink's scheme and host: the path of an incoming webhook (Slack's above all) is its key,
// which anyone who can read the API must not learn.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(hidden)"
	}
	if u.Path == "" || u.Path == "/" {
		return u.Scheme + "://" + u.Host + "/"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
