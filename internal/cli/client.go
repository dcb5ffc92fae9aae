package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// client calls a ferry server's API.
type client struct {
	base  string
	token string
	http  *http.Client
}

func (a *app) client() (*client, error) {
	if a.token == "" {
		a.token = os.Getenv("FERRY_TOKEN")
	}
	if a.token == "" {
		return nil, usageError{msg: "no API token: set FERRY_TOKEN or pass --token (ferry serve prints the admin token on first start)"}
	}
	return &client{base: strings.TrimRight(a.server, "/"), token: a.token, http: &http.Client{}}, nil
}

func (c *client) request(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach ferry server at %s: %w", c.base, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return nil, &apiError{Status: resp.StatusCode, Msg: e.Error}
	}
	return resp, nil
}

// apiError is an answer of 400 or more from the server.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("server: %s (HTTP %d)", e.Msg, e.Status) }

// call sends in as JSON (when not nil) and decodes the answer into out (when not nil).
func (c *client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(data), "application/json"
	}
	resp, err := c.request(ctx, method, path, body, ct)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

// call is client().call for commands that make one API call.
func (a *app) call(ctx context.Context, method, path string, in, out any) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	return cl.call(ctx, method, path, in, out)
}
