package cli

import (
	"os"

	"github.com/ferry-cd/ferry/internal/api"
)

// client returns an API client of the server --server names, with the token of --token or FERRY_TOKEN.
func (a *app) client() (*api.Client, error) {
	if a.token == "" {
		a.token = os.Getenv("FERRY_TOKEN")
	}
	if a.token == "" {
		return nil, usageError{msg: "no API token: set FERRY_TOKEN or pass --token (ferry serve prints the admin token on first start)"}
	}
	return api.NewClient(a.server, a.token), nil
}

// idClient reads a command's RUN, ROLLOUT or RELEASE argument and opens the API client: how every command
// about one of them starts.
func (a *app) idClient(arg string) (int64, *api.Client, error) {
	id, err := parseID(arg)
	if err != nil {
		return 0, nil, err
	}
	cl, err := a.client()
	return id, cl, err
}
