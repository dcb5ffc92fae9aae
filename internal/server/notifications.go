package server

import (
	"net/http"
	"net/url"

	"github.com/ferry-cd/ferry/internal/api"
)

// listNotifications answers the notifications sent, newest first, with their sinks' URLs redacted.
func (s *Server) listNotifications(r *http.Request, _ none) ([]api.Notification, error) {
	ns, err := s.store.ListNotifications(r.Context(), r.URL.Query().Get("project"), queryLimit(r, 100))
	if err != nil {
		return nil, storeFailure(err, "notifications")
	}
	for _, n := range ns {
		n.URL = redactURL(n.URL)
	}
	return viewAll(ns, viewNotification), nil
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
