package api

import "time"

// Certificate is how the certificate of one host of an environment with `tls: {acme: ...}` stands.
type Certificate struct {
	Host string `json:"host"`
	// Issuer, NotBefore and NotAfter are those of the certificate served; absent until one is obtained.
	Issuer    string    `json:"issuer,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	// LastError is why the last attempt to obtain it failed, at LastErrorAt; absent once one succeeds. The
	// certificate served so far is kept meanwhile.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// NextAttempt is when it is next obtained: its renewal, or the retry after a failure.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}
