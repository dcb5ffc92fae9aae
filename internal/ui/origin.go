package ui

import (
	"net/http"
)

// sameOrigin refuses, with 403, a POST to the dashboard that a browser says comes from another site: its
// Sec-Fetch-Site says cross-site, or its Origin is not the dashboard's own. Sign-in has no CSRF value to check
// yet (no session), so without this another site could sign a visitor's browser into a token of its choosing
// (login CSRF); the other forms carry a CSRF value as well. Requests that carry neither header (command-line
// clients, old browsers) pass: they are not a browser being made to post.
func sameOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-site request refused: the dashboard only accepts forms it served itself", http.StatusForbidden)
	}))
	return cop.Handler(next)
}
