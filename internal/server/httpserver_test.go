package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// serveWith serves h the way Serve does, with a short read timeout, on a loopback port.
func serveWith(t *testing.T, read time.Duration, h http.Handler) string {
	t.Helper()
	s := &Server{cfg: Config{ReadTimeout: read}}
	hs := s.httpServer(h)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	return l.Addr().String()
}

func TestSlowBodyIsCutOff(t *testing.T) {
	handlerErr := make(chan error, 1)
	addr := serveWith(t, 300*time.Millisecond, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		handlerErr <- err
		if err != nil {
			http.Error(w, "too slow", http.StatusRequestTimeout)
			return
		}
		fmt.Fprintln(w, "read it all")
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A slowloris: headers at once, then a 10 000-byte body one byte every 20 ms, which would take 200 s.
	fmt.Fprintf(c, "POST /api/v1/projects/app/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n")
	sent := 0
	bounded := time.Now().Add(30 * time.Second)
	for ; sent < 10000 && time.Now().Before(bounded); sent++ {
		if _, err := c.Write([]byte{'{'}); err != nil {
			break // the server closed the connection
		}
		select {
		case err := <-handlerErr:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("handler's read ended with %v, want the read deadline", err)
			}
			resp, rerr := http.ReadResponse(bufio.NewReader(c), nil)
			if rerr == nil && resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("answer %d, want 408 or a closed connection", resp.StatusCode)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the server was still reading a slow body after %d bytes", sent)
}

func TestStreamsOutliveTheReadTimeout(t *testing.T) {
	const read = 100 * time.Millisecond
	addr := serveWith(t, read, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A log follower answers for as long as its run lasts: much longer than the read timeout.
		for i := range 5 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(read):
			}
			fmt.Fprintf(w, "line %d\n", i)
			http.NewResponseController(w).Flush()
		}
	}))
	resp, err := http.Get("http://" + addr + "/api/v1/runs/1/logs?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || strings.Count(string(b), "line") != 5 {
		t.Fatalf("stream ended early: %q, %v", b, err)
	}
}
