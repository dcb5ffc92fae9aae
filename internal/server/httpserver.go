package server

import (
	"net/http"
	"time"
)

// httpServer is the HTTP server Serve runs: every request, body included, must arrive within the read
// timeout, so a client that sends a body byte by byte cannot hold a connection and a handler forever. Answers
// are not bounded: net/http lifts the read deadline once a request is read, so log followers and dashboard
// streams last as long as they need.
func (s *Server) httpServer(h http.Handler) *http.Server {
	read, idle := s.cfg.ReadTimeout, s.cfg.IdleTimeout
	if read <= 0 {
		read = 30 * time.Second
	}
	if idle <= 0 {
		idle = 2 * time.Minute
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(read, 10*time.Second),
		ReadTimeout:       read,
		IdleTimeout:       idle,
	}
}
