package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/yamlfile"
)

// maxTokenOrigins bounds the origins of one flags token: a few sites and their local development servers.
const maxTokenOrigins = 20

// tokenOrigins checks and normalizes the origins a flags token is created with, as browsers send them in the
// Origin header: scheme and host in lower case, without the scheme's default port.
func tokenOrigins(list []string) ([]string, error) {
	if len(list) > maxTokenOrigins {
		return nil, fail(http.StatusBadRequest, "%d origins: a flags token allows at most %d; create another token for more", len(list), maxTokenOrigins)
	}
	var out []string
	for _, o := range list {
		n, err := parseOrigin(o)
		if err != nil {
			return nil, fail(http.StatusBadRequest, "origin %q: %v", o, err)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// parseOrigin reads an origin as a flags token allows it: "https://shop.example", "http://localhost:3000",
// or "*" for every origin.
func parseOrigin(o string) (string, error) {
	if o == "*" {
		return o, nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("give an origin like https://shop.example or http://localhost:3000, or * for any")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("an origin is http:// or https://, not %s://", u.Scheme)
	case u.User != nil:
		return "", fmt.Errorf("an origin has no user name or password")
	case u.Path == "/" && u.RawQuery == "" && u.Fragment == "":
		return "", fmt.Errorf("an origin has no path: write it without the trailing / (%s://%s)", u.Scheme, u.Host)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", fmt.Errorf("an origin is scheme://host[:port] only, without a path, query or fragment (%s://%s)", u.Scheme, u.Host)
	}
	if p := u.Port(); p != "" && strings.Trim(p, "0123456789") != "" {
		return "", fmt.Errorf("port %q is not a number", p)
	}
	return normalOrigin(o), nil
}

// normalOrigin spells an origin as browsers send it; an origin it cannot read comes back as it is.
func normalOrigin(o string) string {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return o
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if p := u.Port(); (scheme == "https" && p == "443") || (scheme == "http" && p == "80") {
		host = strings.ToLower(u.Hostname())
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	}
	return scheme + "://" + host
}

// allowsOrigin reports whether a flags token's origins let a page from origin use it.
func allowsOrigin(origins []string, origin string) bool {
	return slices.Contains(origins, "*") || slices.Contains(origins, normalOrigin(origin))
}

// flagsEnvExists checks that a flags token's environment exists: that the project's newest release declares
// it in its .ferry.yaml, or that a release is live there (an environment a newer release no longer declares
// still serves its live release's flags). A project without a release yet cannot say: its environments are
// whatever its first release will declare, so the token is created with a warning rather than refused,
// since an app usually needs its token before it is first deployed.
func (s *Server) flagsEnvExists(ctx context.Context, project, env string) (warning string, err error) {
	known := map[string]bool{}
	rels, err := s.store.ListReleases(ctx, project, 1)
	if err != nil {
		return "", storeFailure(err, "releases of "+project)
	}
	from := ""
	if len(rels) > 0 {
		from = fmt.Sprintf("the .ferry.yaml of release v%d", rels[0].Version)
		if pl, err := pipeline.Parse(pipeline.FileName, []byte(rels[0].Pipeline)); err == nil {
			for _, e := range pl.Environments {
				known[e.Name] = true
			}
		}
	}
	envs, err := s.store.ListEnvironments(ctx, project)
	if err != nil {
		return "", storeFailure(err, "environments of "+project)
	}
	for _, e := range envs {
		if e.LiveReleaseID != 0 {
			known[e.Name] = true
		}
	}
	switch {
	case known[env]:
		return "", nil
	case len(rels) == 0 && len(known) == 0:
		return fmt.Sprintf("project %s has no release yet, so environment %q could not be checked: "+
			"the token reads nothing until a release declares that environment in .ferry.yaml and goes live there", project, env), nil
	case len(known) == 0:
		return "", fail(http.StatusNotFound, "environment %q of project %s does not exist: %s declares no environments (add an environments: section)", env, project, from)
	}
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	slices.Sort(names)
	hint := ""
	if c := yamlfile.Closest(env, names); c != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", c)
	}
	return "", fail(http.StatusNotFound, "environment %q of project %s does not exist%s: its environments are %s",
		env, project, hint, strings.Join(names, ", "))
}
