package ofrep

import (
	"net/http"
	"strings"
)

// The CORS answers of the OFREP endpoints, as the Fetch standard reads them.
const (
	// corsAllowHeaders are the request headers OFREP providers send: credentials either way the
	// specification names them, the JSON body's type, and the bulk endpoint's cache validator.
	corsAllowHeaders = "Authorization, X-API-Key, Content-Type, If-None-Match"
	// corsExposeHeaders lets a page read the bulk ETag (to send it back in If-None-Match) and a 429's
	// Retry-After; other response headers a provider reads are CORS-safelisted already.
	corsExposeHeaders = "ETag, Retry-After"
	// corsMaxAge is how long, in seconds, a browser may reuse a preflight's answer. Browsers cap it (2 hours
	// in Chromium), and a revoked origin must stop working soon.
	corsMaxAge = "600"
)

// cors answers preflights and adds the CORS headers to responses for pages on the origins o allows; a nil o
// allows none. Requests without an Origin header (servers, curl) go through unchanged.
//
// The answers depend on the Origin header, so every one says so (Vary: Origin) for caches in between. An
// allowed origin is echoed back rather than answered with "*", so the answer stays right for a page that
// sends cookies too; credentials are never allowed (OFREP reads a token, not a cookie).
func cors(o Origins, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if r.Method == http.MethodOptions && (origin == "" || !preflight) {
			// Not a CORS preflight: say what the endpoints take.
			h.Set("Allow", "POST, OPTIONS")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		allowed := o != nil && o.AllowsOrigin(r, origin)
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if !allowed {
				// The browser reports a failed preflight without showing this body; the status and the
				// details are for whoever reads the network log.
				writeJSON(w, http.StatusForbidden, generalErrorResponse{ErrorDetails: "pages from " + origin +
					" may not call OFREP here: allow the origin on the flags token the page uses (ferry token create NAME --flags PROJECT/ENV --allow-origin " + origin + ")"})
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", "POST")
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		}
		next.ServeHTTP(w, r)
	})
}

// SameOrigin reports whether origin, an Origin header, is the origin r was sent to: a page served from the
// same scheme, host and port, which needs no CORS. Behind a proxy that changes the Host, it is false.
func SameOrigin(r *http.Request, origin string) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(origin, scheme+"://"+r.Host)
}
