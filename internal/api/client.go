package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client calls a ferry server's API with one token. NewClient makes one that goes over the network, InProcess
// one that calls the API's handler in the same process (the dashboard). The methods named after what they
// return (Projects, Status, Run...) are the API's endpoints; Call and Request reach any path.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient returns a client of the server at base ("http://127.0.0.1:8080") with token.
func NewClient(base, token string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{}}
}

// InProcess returns a client that serves its requests with h, the server's API handler, without a network.
// Answers stream as the handler writes them, so a followed log arrives line by line.
func InProcess(h http.Handler, token string) *Client {
	return &Client{token: token, http: &http.Client{Transport: handlerTransport{h}}}
}

// Error is an answer of 400 or more, with the server's reason (the ErrorBody).
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("server: %s (HTTP %d)", e.Message, e.Status) }

// Request sends body (nil for none) with its content type to path ("/api/v1/...") and returns the answer, whose
// body the caller closes. An answer of 400 or more is returned as an *Error.
func (c *Client) Request(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	if body == nil {
		body = http.NoBody
	}
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
		return nil, readError(resp)
	}
	return resp, nil
}

// readError reads the reason of an answer of 400 or more.
func readError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e ErrorBody
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(data))
	}
	return &Error{Status: resp.StatusCode, Message: e.Error}
}

// Call sends in as JSON (when not nil) and decodes the answer into out (when not nil).
func (c *Client) Call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(data), "application/json"
	}
	resp, err := c.Request(ctx, method, path, body, ct)
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

// Get decodes the answer to GET path into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.Call(ctx, http.MethodGet, path, nil, out)
}
