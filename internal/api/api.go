// Package api holds the wire types of ferry's HTTP API (/api/v1): every request body the server reads and
// every view it writes as JSON, and Client, which calls the API over the network or in process. The CLI's
// client commands and the dashboard depend on this package, not on the server.
//
// The JSON of these types is the API's contract: e2e tests and users' scripts parse it, so a key, a value's
// format or the order of keys changes only on purpose. The server translates its records into these views
// (internal/server/views.go) and its tests check the encoding byte for byte.
//
// It imports only the standard library: nothing of ferry's internals (no server, store, engine, rollout,
// dataplane, analysis or dora), so that a client of the API compiles none of them.
package api

// ErrorBody is the body of every 4xx and 5xx answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// Whoami answers GET /api/v1/whoami: the caller's token name and role.
type Whoami struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// Token roles: an admin token may change anything; a read token sees everything and changes nothing; a flags
// token only evaluates the feature flags of one project's environment (OFREP).
const (
	RoleAdmin = "admin"
	RoleRead  = "read"
	RoleFlags = "flags"
)

// EnvKey names one environment of one project, as the server's store.EnvKey does.
type EnvKey struct {
	Project, Env string
}

// String is "project/env", how the CLI and the dashboard name an environment.
func (k EnvKey) String() string { return k.Project + "/" + k.Env }
