package api

import "time"

// ProjectRequest is the body of POST /api/v1/projects.
type ProjectRequest struct {
	Name          string `json:"name"`
	Repo          string `json:"repo"`
	Branch        string `json:"branch"`
	Poll          string `json:"poll"` // a Go duration; "0" or "" turns polling off
	WebhookSecret string `json:"webhook_secret"`
	Concurrency   int    `json:"concurrency"`
	// Status* say where to report commit statuses (provider github, gitlab or gitea); the token is the
	// project secret FERRY_STATUS_TOKEN.
	StatusProvider string `json:"status_provider"`
	StatusAPI      string `json:"status_api"`
	StatusRepo     string `json:"status_repo"`
	// NotifyWebhook and NotifySlack are the project's own notification sinks (http or https URLs).
	NotifyWebhook []string `json:"notify_webhook"`
	NotifySlack   []string `json:"notify_slack"`
	// NoCheck skips asking the repository, when the project is added, whether it answers and has Branch.
	NoCheck bool `json:"no_check,omitempty"`
}

// ProjectView is a project as the API shows it. The order of the fields is the order of the keys in JSON.
type ProjectView struct {
	Name   string `json:"name"`
	Repo   string `json:"repo"` // without credentials
	Branch string `json:"branch"`
	// Concurrency bounds the runs of the project that execute at once.
	Concurrency int `json:"concurrency"`
	// Head is the last commit of Branch the poller or a webhook saw.
	Head      string    `json:"head,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Status says where the project reports commit statuses; the zero value reports none.
	Status StatusTarget `json:"status,omitzero"`
	// Poll is the polling interval as a Go duration ("30s"), or "off".
	Poll string `json:"poll"`
	// Webhook says whether the project accepts signed push webhooks.
	Webhook bool `json:"webhook"`
	// Notify shows the project's sinks with their URLs cut to scheme and host: the rest is their key.
	Notify []NotifySink `json:"notify,omitempty"`
	// PollError is the last error the poller met asking for Branch's head or fetching it, until a poll
	// succeeds; nil when the last poll succeeded (or none ran).
	PollError *PollError `json:"poll_error,omitempty"`
	// Notice is what adding the project found worth saying, only in the answer to the add: the repository is
	// empty (its first push to Branch will run), or the check was skipped.
	Notice string `json:"notice,omitempty"`
}

// PollError is the last error of a project's poller and when it happened.
type PollError struct {
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// NotifySink is a place notifications go: Kind "webhook" or "slack".
type NotifySink struct {
	Kind string `json:"kind"`
	URL  string `json:"url"`
}

// StatusTarget is a forge's commit status API for one repository.
type StatusTarget struct {
	Provider string `json:"provider"` // github, gitlab or gitea
	API      string `json:"api"`
	// Repo is owner/name (GitHub, Gitea) or the project's id or path (GitLab).
	Repo string `json:"repo"`
}

// Secret names a project secret, as GET /api/v1/projects/{name}/secrets lists them; values never leave the
// server except to a step.
type Secret struct {
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SecretSet answers PUT /api/v1/projects/{name}/secrets/{secret}.
type SecretSet struct {
	Name string `json:"name"`
}

// WebhookAnswer answers POST /api/v1/projects/{name}/webhook when the push was understood: Status queued
// (with Run), ignored or duplicate (with Reason).
type WebhookAnswer struct {
	Reason string `json:"reason,omitempty"`
	Run    *Run   `json:"run,omitempty"`
	Status string `json:"status"`
}
