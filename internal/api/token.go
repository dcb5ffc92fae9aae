package api

import "time"

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"` // admin, read or flags
	// Project and Env name the environment a flags token reads.
	Project string `json:"project,omitempty"`
	Env     string `json:"env,omitempty"`
	// Origins are the web origins ("https://shop.example", "http://localhost:3000", or "*" for any) whose
	// pages may use a flags token from a browser (CORS); none for a token only servers use.
	Origins []string `json:"origins,omitempty"`
}

// TokenCreated answers POST /api/v1/tokens; the token is shown this once.
type TokenCreated struct {
	Token   string   `json:"token"`
	Name    string   `json:"name"`
	Role    string   `json:"role"`
	Project string   `json:"project,omitempty"`
	Env     string   `json:"env,omitempty"`
	Origins []string `json:"origins,omitempty"`
	// Warning says what the server could not check, such as an environment of a project with no release
	// yet; empty when all is well.
	Warning string `json:"warning,omitempty"`
}

// TokenView is a token as GET /api/v1/tokens shows it: never its value nor its hash.
type TokenView struct {
	Name      string   `json:"name"`
	Role      string   `json:"role"`
	Project   string   `json:"project,omitempty"`
	Env       string   `json:"env,omitempty"`
	Origins   []string `json:"origins,omitempty"`
	CreatedAt string   `json:"created_at"` // 2006-01-02T15:04:05Z, or empty
}

// AuditEntry records one human action: who did what to which project, and when.
type AuditEntry struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`  // the token's name
	Action  string    `json:"action"` // promote, pause, resume, abort, rollback, secret.set, token.create, trigger...
	Project string    `json:"project,omitempty"`
	Target  string    `json:"target,omitempty"` // the environment, secret, token or run acted on
	Detail  string    `json:"detail,omitempty"`
}

// NotificationState is where a notification's delivery stands.
type NotificationState string

const (
	NotificationPending   NotificationState = "pending"
	NotificationDelivered NotificationState = "delivered"
	NotificationFailed    NotificationState = "failed"
)

// Notification is one message to one sink, as GET /api/v1/notifications lists them.
type Notification struct {
	ID      int64  `json:"id"`
	Sink    string `json:"sink"` // "webhook" or "slack"
	URL     string `json:"url"`  // cut to scheme and host
	Event   string `json:"event"`
	Project string `json:"project"`
	Payload []byte `json:"payload"` // base64 in JSON
	// State is pending (NextAt says when to try), delivered or failed (gave up).
	State     NotificationState `json:"state"`
	Attempts  int               `json:"attempts"`
	LastError string            `json:"last_error,omitempty"`
	NextAt    time.Time         `json:"next_at,omitzero"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}
