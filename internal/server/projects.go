package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

func (s *Server) addProject(r *http.Request, req api.ProjectRequest) (*api.ProjectView, error) {
	p, err := s.validateProject(r.Context(), req)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "%v", source.Redact(err.Error()))
	}
	notice := "the repository was not checked (no_check)"
	if !req.NoCheck {
		if notice, err = checkRepository(r.Context(), p); err != nil {
			return nil, err
		}
	}
	// Credentials written into the URL become the project's repository secrets: the URL is stored clean.
	var cred source.Credentials
	p.Repo, cred = source.SplitCredentials(p.Repo)
	if err := s.store.CreateProject(r.Context(), p); err != nil {
		return nil, storeFailure(err, "project "+p.Name)
	}
	if err := s.moveCredentials(r.Context(), p.Name, cred); err != nil {
		return nil, fail(http.StatusInternalServerError, "store the repository credentials of %s: %v", p.Name, err)
	}
	s.log.Info("project added", "project", p.Name, "repo", source.Redact(p.Repo), "branch", p.Branch)
	s.audit(r, "project.add", p.Name, p.Repo, "branch "+p.Branch)
	v := s.viewProject(p)
	v.Notice = notice
	return &v, nil
}

// checkTimeout bounds asking a new project's repository for its branches.
const checkTimeout = 20 * time.Second

// checkRepository asks p's repository, with the credentials written in its URL, whether it answers and has
// p's branch, so that a typo is refused now instead of a project whose polls fail where nobody looks. An empty
// repository passes with a notice: its first push makes the branch.
func checkRepository(ctx context.Context, p *store.Project) (notice string, err error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	empty, err := (&source.Mirror{URL: p.Repo, Branch: p.Branch}).CheckBranch(ctx)
	var unreachable *source.UnreachableError
	var missing *source.BranchMissingError
	switch {
	case errors.As(err, &unreachable):
		hint := ""
		if u, perr := url.Parse(p.Repo); perr == nil && (u.Scheme == "http" || u.Scheme == "https") && u.User == nil {
			hint = "; for a private repository, give its token in the URL (https://TOKEN@host/...: ferry stores it as the " +
				"project secret " + RepoTokenSecret + "), or add the project with --no-check and then: ferry secret set " + p.Name + " " + RepoTokenSecret
		}
		return "", fail(http.StatusBadRequest, "%s%s (add with --no-check to add it anyway)", unreachable, hint)
	case errors.As(err, &missing):
		return "", fail(http.StatusBadRequest, "%s (add with --no-check to add it anyway)", missing)
	case err != nil:
		return "", fail(http.StatusBadRequest, "%v", source.Redact(err.Error()))
	case empty:
		return fmt.Sprintf("the repository has no branch yet: its first push to %s will run", p.Branch), nil
	}
	return "", nil
}

// viewProject is the project as the API shows it, with its poller's last error.
func (s *Server) viewProject(p *store.Project) api.ProjectView {
	v := viewProject(p)
	if s.runs == nil {
		return v
	}
	if e, ok := s.runs.PollError(p.Name); ok {
		v.PollError = &api.PollError{Message: e.Message, At: e.At}
	}
	return v
}

func (s *Server) validateProject(ctx context.Context, req api.ProjectRequest) (*store.Project, error) {
	if !nameRE.MatchString(req.Name) {
		return nil, fmt.Errorf("invalid project name %q: use lower-case letters, digits, '-', '_' or '.', starting with a letter or digit", req.Name)
	}
	if err := source.ValidateRepo(req.Repo); err != nil {
		return nil, err
	}
	if req.Branch == "" {
		req.Branch = "main"
	}
	if err := source.ValidateBranch(ctx, req.Branch); err != nil {
		return nil, err
	}
	var poll time.Duration
	if req.Poll != "" && req.Poll != "0" && req.Poll != "off" {
		d, err := time.ParseDuration(req.Poll)
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("invalid poll interval %q: use a duration of at least 1s such as 30s, or 0 for none", req.Poll)
		}
		poll = d
	}
	if req.Concurrency == 0 {
		req.Concurrency = 2
	}
	if req.Concurrency < 1 || req.Concurrency > 64 {
		return nil, fmt.Errorf("invalid concurrency %d: use 1 to 64", req.Concurrency)
	}
	var status store.StatusTarget
	if req.StatusProvider != "" {
		if !slices.Contains(source.StatusProviders, req.StatusProvider) {
			return nil, fmt.Errorf("invalid status provider %q: use github, gitlab or gitea", req.StatusProvider)
		}
		u, err := url.Parse(req.StatusAPI)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("invalid status API %q: give the forge API's base URL, such as https://api.github.com", req.StatusAPI)
		}
		if req.StatusRepo == "" {
			return nil, errors.New("status repo is empty: give owner/name (GitHub, Gitea) or the GitLab project id or path")
		}
		status = store.StatusTarget{Provider: req.StatusProvider, API: req.StatusAPI, Repo: req.StatusRepo}
	}
	var sinks []store.NotifySink
	for _, k := range []struct {
		kind string
		urls []string
	}{{"webhook", req.NotifyWebhook}, {"slack", req.NotifySlack}} {
		kind := k.kind
		for _, raw := range k.urls {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("invalid notify %s %q: give an http or https URL", kind, raw)
			}
			sinks = append(sinks, store.NotifySink{Kind: kind, URL: raw})
		}
	}
	return &store.Project{
		Name: req.Name, Repo: req.Repo, Branch: req.Branch, Poll: poll,
		WebhookSecret: req.WebhookSecret, Concurrency: req.Concurrency, CreatedAt: time.Now().UTC(), Status: status,
		Notify: sinks,
	}, nil
}

func (s *Server) listProjects(r *http.Request, _ none) ([]api.ProjectView, error) {
	ps, err := s.store.ListProjects(r.Context())
	if err != nil {
		return nil, storeFailure(err, "projects")
	}
	out := make([]api.ProjectView, 0, len(ps))
	for _, p := range ps {
		out = append(out, s.viewProject(p))
	}
	return out, nil
}

func (s *Server) getProject(r *http.Request, _ none) (*api.ProjectView, error) {
	p, err := s.store.GetProject(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, storeFailure(err, "project "+r.PathValue("name"))
	}
	v := s.viewProject(p)
	return &v, nil
}

func (s *Server) deleteProject(r *http.Request, _ none) (none, error) {
	name := r.PathValue("name")
	if err := s.runs.DeleteProject(r.Context(), name); err != nil {
		return none{}, storeFailure(err, "project "+name)
	}
	s.audit(r, "project.rm", name, "", "")
	return none{}, nil
}
