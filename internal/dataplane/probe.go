package dataplane

// What a health check saw and what an instance last printed, kept so that a release that never becomes
// healthy says why ("GET /healthz answered 404", "exited with status 1: listen tcp: address in use") instead
// of only that it timed out.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"
)

// tailLines and tailWidth bound what an instance keeps of its output: its last lines, each cut.
const (
	tailLines = 5
	tailWidth = 200
)

// probe fetches url once: ok for any 2xx or 3xx, and what it saw in a few words either way.
func probe(ctx context.Context, c *http.Client, path, url string) (ok bool, result string) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return false, fmt.Sprintf("GET %s: %v", path, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return false, "GET " + path + ": " + probeError(err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400, fmt.Sprintf("GET %s answered %d", path, resp.StatusCode)
}

func probeError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "no answer in time"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without an answer"
	}
	return err.Error()
}

// tail is an io.Writer that keeps the last tailLines lines written to it, each cut to tailWidth bytes.
type tail struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(t.partial) < tailWidth {
				t.partial = append(t.partial, p[:min(len(p), tailWidth-len(t.partial))]...)
			}
			break
		}
		if len(t.partial) < tailWidth {
			t.partial = append(t.partial, p[:min(i, tailWidth-len(t.partial))]...)
		}
		t.push(string(t.partial))
		t.partial = t.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

func (t *tail) push(line string) {
	line = strings.TrimRight(line, "\r")
	for !utf8.ValidString(line) && line != "" { // a multi-byte rune cut in two
		line = line[:len(line)-1]
	}
	if strings.TrimSpace(line) == "" {
		return
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
}

// Lines returns the last lines, the unfinished one included.
func (t *tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.lines...)
	if s := strings.TrimSpace(string(t.partial)); s != "" {
		out = append(out, string(t.partial))
		out = out[max(0, len(out)-tailLines):]
	}
	return out
}
