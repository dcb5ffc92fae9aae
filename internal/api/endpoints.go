package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The API's endpoints, one method each. Names and IDs are escaped here, so callers pass them as users type them.

func projectPath(project string) string { return "/api/v1/projects/" + url.PathEscape(project) }

func envPath(project, env string) string {
	return projectPath(project) + "/environments/" + url.PathEscape(env)
}

// do sends in (when not nil) and returns the answer decoded as T, or T's zero value and the error.
func do[T any](ctx context.Context, c *Client, method, path string, in any) (T, error) {
	var out T
	if err := c.Call(ctx, method, path, in, &out); err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

func query(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Whoami returns the client's token name and role.
func (c *Client) Whoami(ctx context.Context) (*Whoami, error) {
	return do[*Whoami](ctx, c, http.MethodGet, "/api/v1/whoami", nil)
}

// Projects lists the projects.
func (c *Client) Projects(ctx context.Context) ([]ProjectView, error) {
	return do[[]ProjectView](ctx, c, http.MethodGet, "/api/v1/projects", nil)
}

// Project returns one project.
func (c *Client) Project(ctx context.Context, name string) (*ProjectView, error) {
	return do[*ProjectView](ctx, c, http.MethodGet, projectPath(name), nil)
}

// AddProject makes the server follow a repository's branch.
func (c *Client) AddProject(ctx context.Context, req ProjectRequest) (*ProjectView, error) {
	return do[*ProjectView](ctx, c, http.MethodPost, "/api/v1/projects", req)
}

// DeleteProject stops following a project and deletes its records.
func (c *Client) DeleteProject(ctx context.Context, name string) error {
	return c.Call(ctx, http.MethodDelete, projectPath(name), nil, nil)
}

// Trigger queues a run of the project's branch head, or of commit.
func (c *Client) Trigger(ctx context.Context, project, commit string) (*Run, error) {
	return do[*Run](ctx, c, http.MethodPost, projectPath(project)+"/trigger", TriggerRequest{Commit: commit})
}

// Runs lists a project's latest runs, newest first; limit 0 lets the server choose.
func (c *Client) Runs(ctx context.Context, project string, limit int) ([]*Run, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return do[[]*Run](ctx, c, http.MethodGet, projectPath(project)+"/runs"+query(q), nil)
}

// Run returns a run with its steps.
func (c *Client) Run(ctx context.Context, id int64) (*RunView, error) {
	return do[*RunView](ctx, c, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", id), nil)
}

// RunCases returns the evaluation cases of a run's steps beside the baseline run's.
func (c *Client) RunCases(ctx context.Context, id int64) (*RunCases, error) {
	return do[*RunCases](ctx, c, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/cases", id), nil)
}

// Case returns one evaluation case of the step of a run at index, whole, with the baseline's.
func (c *Client) Case(ctx context.Context, id int64, index int, caseID string) (*CaseView, error) {
	return do[*CaseView](ctx, c, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/steps/%d/cases/%s", id, index, url.PathEscape(caseID)), nil)
}

// CancelRun cancels a queued or running run.
func (c *Client) CancelRun(ctx context.Context, id int64) (*Run, error) {
	return do[*Run](ctx, c, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", id), nil)
}

// Logs returns a run's log as JSON lines (one LogLine each), of one step when step is not empty ("stage/step"
// or a bare step name). With follow the answer stays open until the run ends. The caller closes it.
func (c *Client) Logs(ctx context.Context, id int64, step string, follow bool) (io.ReadCloser, error) {
	q := url.Values{}
	if step != "" {
		q.Set("step", step)
	}
	if follow {
		q.Set("follow", "1")
	}
	resp, err := c.Request(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/logs?%s", id, q.Encode()), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// AppLogs returns the output of an environment's instances as JSON lines (one AppLogLine each): of the
// release with version (its live release when 0), the last lines of each instance, then with follow the lines they print until ctx
// ends. The caller closes it.
func (c *Client) AppLogs(ctx context.Context, env EnvKey, version int64, lines int, follow bool) (io.ReadCloser, error) {
	q := url.Values{"lines": {strconv.Itoa(lines)}}
	if version != 0 {
		q.Set("release", strconv.FormatInt(version, 10))
	}
	if follow {
		q.Set("follow", "1")
	}
	resp, err := c.Request(ctx, http.MethodGet, envPath(env.Project, env.Env)+"/logs?"+q.Encode(), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Releases lists a project's latest releases, newest first.
func (c *Client) Releases(ctx context.Context, project string) ([]*Release, error) {
	return do[[]*Release](ctx, c, http.MethodGet, projectPath(project)+"/releases", nil)
}

// ProjectRelease returns a project's release by its version (7 for v7), with the files of its bundle.
func (c *Client) ProjectRelease(ctx context.Context, project string, version int64) (*ReleaseView, error) {
	return do[*ReleaseView](ctx, c, http.MethodGet, fmt.Sprintf("%s/releases/%d", projectPath(project), version), nil)
}

// ProjectReleaseManifests returns the rendered Kubernetes manifests and the images stored with a project's
// release, by its version.
func (c *Client) ProjectReleaseManifests(ctx context.Context, project string, version int64) (*ReleaseManifests, error) {
	return do[*ReleaseManifests](ctx, c, http.MethodGet, fmt.Sprintf("%s/releases/%d/manifests", projectPath(project), version), nil)
}

// Release returns a release by its ID with the files of its bundle.
func (c *Client) Release(ctx context.Context, id int64) (*ReleaseView, error) {
	return do[*ReleaseView](ctx, c, http.MethodGet, fmt.Sprintf("/api/v1/releases/%d", id), nil)
}

// ReleaseManifests returns the rendered Kubernetes manifests and the images stored with a release.
func (c *Client) ReleaseManifests(ctx context.Context, id int64) (*ReleaseManifests, error) {
	return do[*ReleaseManifests](ctx, c, http.MethodGet, fmt.Sprintf("/api/v1/releases/%d/manifests", id), nil)
}

// Secrets lists a project's secret names.
func (c *Client) Secrets(ctx context.Context, project string) ([]Secret, error) {
	return do[[]Secret](ctx, c, http.MethodGet, projectPath(project)+"/secrets", nil)
}

// SetSecret sets a project secret to value.
func (c *Client) SetSecret(ctx context.Context, project, name string, value []byte) error {
	resp, err := c.Request(ctx, http.MethodPut, projectPath(project)+"/secrets/"+url.PathEscape(name),
		strings.NewReader(string(value)), "application/octet-stream")
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// DeleteSecret removes a project secret.
func (c *Client) DeleteSecret(ctx context.Context, project, name string) error {
	return c.Call(ctx, http.MethodDelete, projectPath(project)+"/secrets/"+url.PathEscape(name), nil, nil)
}

// Status returns each environment of a project: live release, rollout, analysis and what the data plane runs.
func (c *Client) Status(ctx context.Context, project string) (*ProjectStatus, error) {
	return do[*ProjectStatus](ctx, c, http.MethodGet, projectPath(project)+"/status", nil)
}

// Rollouts lists a project's latest rollouts, newest first, of env only when it is not empty; limit 0 lets
// the server choose.
func (c *Client) Rollouts(ctx context.Context, project, env string, limit int) ([]*Rollout, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if env != "" {
		q.Set("env", env)
	}
	return do[[]*Rollout](ctx, c, http.MethodGet, projectPath(project)+"/rollouts"+query(q), nil)
}

// Rollout returns a rollout with its events and samples.
func (c *Client) Rollout(ctx context.Context, id int64) (*RolloutView, error) {
	return do[*RolloutView](ctx, c, http.MethodGet, fmt.Sprintf("/api/v1/rollouts/%d", id), nil)
}

// Act asks for an action on an environment's rollout: promote, pause, resume, abort or rollback.
func (c *Client) Act(ctx context.Context, project, env, action string, req ActionRequest) (*Rollout, error) {
	return do[*Rollout](ctx, c, http.MethodPost, envPath(project, env)+"/"+url.PathEscape(action), req)
}

// Flags returns an environment's flags with their live state.
func (c *Client) Flags(ctx context.Context, project, env string) (*FlagsView, error) {
	return do[*FlagsView](ctx, c, http.MethodGet, envPath(project, env)+"/flags", nil)
}

func overridePath(project, env, flag string) string {
	return envPath(project, env) + "/flags/" + url.PathEscape(flag) + "/override"
}

// SetOverride forces a flag of an environment to variant.
func (c *Client) SetOverride(ctx context.Context, project, env, flag, variant string) (*FlagOverride, error) {
	return do[*FlagOverride](ctx, c, http.MethodPut, overridePath(project, env, flag), OverrideRequest{Variant: variant})
}

// ClearOverride removes a flag's override: its rules from Git decide again.
func (c *Client) ClearOverride(ctx context.Context, project, env, flag string) error {
	return c.Call(ctx, http.MethodDelete, overridePath(project, env, flag), nil, nil)
}

// Dora returns the DORA metrics of a project's production environments over window ("30d"), with weekly
// reports of the last weeks when weeks > 0.
func (c *Client) Dora(ctx context.Context, project, window string, weeks int) (*DoraView, error) {
	q := url.Values{"window": {window}}
	if weeks > 0 {
		q.Set("weeks", strconv.Itoa(weeks))
	}
	return do[*DoraView](ctx, c, http.MethodGet, projectPath(project)+"/dora"+query(q), nil)
}

// Audit lists the latest human actions, of project only when it is not empty.
func (c *Client) Audit(ctx context.Context, project string, limit int) ([]AuditEntry, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if project != "" {
		q.Set("project", project)
	}
	return do[[]AuditEntry](ctx, c, http.MethodGet, "/api/v1/audit"+query(q), nil)
}

// Notifications lists the latest notifications, of project only when it is not empty.
func (c *Client) Notifications(ctx context.Context, project string, limit int) ([]Notification, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if project != "" {
		q.Set("project", project)
	}
	return do[[]Notification](ctx, c, http.MethodGet, "/api/v1/notifications"+query(q), nil)
}

// CreateToken creates a token; its value is in the answer, this once.
func (c *Client) CreateToken(ctx context.Context, req TokenRequest) (*TokenCreated, error) {
	return do[*TokenCreated](ctx, c, http.MethodPost, "/api/v1/tokens", req)
}

// Tokens lists the tokens (admin tokens only).
func (c *Client) Tokens(ctx context.Context) ([]TokenView, error) {
	return do[[]TokenView](ctx, c, http.MethodGet, "/api/v1/tokens", nil)
}

// RevokeToken revokes a token at once.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.Call(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(name), nil, nil)
}
