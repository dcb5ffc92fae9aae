package source

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// CommitStatus is what ferry reports on a commit: a state (pending, running, success, failure, error,
// canceled), one line and a link.
type CommitStatus struct {
	State       string
	Description string
	TargetURL   string
	// Context names the check on the forge; "ferry" when empty.
	Context string
}

// StatusProviders are the forges whose commit status API ferry speaks.
var StatusProviders = []string{"github", "gitlab", "gitea"}

// ReportStatus sets a commit's status through a forge's API, as each documents it:
//   - GitHub: POST {api}/repos/{owner}/{repo}/statuses/{sha}, Authorization: Bearer, JSON state pending,
//     success, failure or error;
//   - Gitea: the same path, Authorization: token, the same JSON;
//   - GitLab: POST {api}/projects/{id}/statuses/{sha}, PRIVATE-TOKEN, JSON state pending, running, success,
//     failed or canceled, and name for the context.
func ReportStatus(ctx context.Context, client *http.Client, provider, api, repo, token, commit string, st CommitStatus) error {
	if !ValidCommit(commit) || len(commit) < 40 {
		return fmt.Errorf("report status: invalid commit %q", commit)
	}
	if st.Context == "" {
		st.Context = "ferry"
	}
	desc := st.Description
	if len(desc) > 140 {
		desc = desc[:137] + "..."
	}
	base := strings.TrimRight(api, "/")
	var path string
	var body map[string]string
	header := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	switch provider {
	case "github", "gitea":
		owner, name, ok := strings.Cut(repo, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return fmt.Errorf("report status: repo %q is not owner/name", repo)
		}
		path = "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name) + "/statuses/" + commit
		state := st.State
		switch state {
		case "running":
			state = "pending"
		case "canceled":
			state = "error"
		}
		body = map[string]string{"state": state, "description": desc, "context": st.Context, "target_url": st.TargetURL}
		if provider == "github" {
			header.Set("Authorization", "Bearer "+token)
			header.Set("Accept", "application/vnd.github+json")
			header.Set("X-GitHub-Api-Version", "2022-11-28")
		} else {
			header.Set("Authorization", "token "+token)
		}
	case "gitlab":
		if repo == "" {
			return fmt.Errorf("report status: no GitLab project")
		}
		path = "/projects/" + url.PathEscape(repo) + "/statuses/" + commit
		state := st.State
		switch state {
		case "failure", "error":
			state = "failed"
		}
		body = map[string]string{"state": state, "description": desc, "name": st.Context, "target_url": st.TargetURL}
		header.Set("PRIVATE-TOKEN", token)
	default:
		return fmt.Errorf("report status: unknown provider %q (use %s)", provider, strings.Join(StatusProviders, ", "))
	}
	if body["target_url"] == "" {
		delete(body, "target_url")
	}
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", base+path, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("report status: %w", err)
	}
	req.Header = header
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("report status: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return fmt.Errorf("report status to %s: HTTP %d: %s", provider, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}
