package proxy

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestForwardRequestAndAnswer(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			c := newClient(t)

			req, _ := http.NewRequest("GET", "http://"+addr+"/a/b%20c?x=1&y=two&y=3", nil)
			req.Host = "app.example:8443"
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
			req.Header.Set("X-Custom", "kept")
			req.Header.Set("X-Forwarded-Host", "forged.example")
			req.Header.Set("X-Forwarded-Proto", "https")
			resp, body := do(t, c, req)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			if got := resp.Header.Get("X-Up"); got != "yes" {
				t.Errorf("answer header X-Up = %q, want yes", got)
			}
			if got := resp.Header.Values("X-Multi"); !slices.Equal(got, []string{"a", "b"}) {
				t.Errorf("answer header X-Multi = %q, want [a b]", got)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			e := decodeEcho(t, body)
			if e.Method != "GET" || e.URI != "/a/b%20c?x=1&y=two&y=3" {
				t.Errorf("upstream got %s %s, want GET /a/b%%20c?x=1&y=two&y=3", e.Method, e.URI)
			}
			if e.Host != "app.example:8443" {
				t.Errorf("upstream got Host %q, want the client's", e.Host)
			}
			if got := e.Header.Get("X-Custom"); got != "kept" {
				t.Errorf("X-Custom = %q", got)
			}
			// The client is no trusted proxy: what it says of itself is dropped (forwarded_test.go).
			if got := strings.Join(e.Header.Values("X-Forwarded-For"), ", "); got != "127.0.0.1" {
				t.Errorf("X-Forwarded-For = %q, want the client's address only", got)
			}
			if got := e.Header.Values("X-Forwarded-Host"); !slices.Equal(got, []string{"app.example:8443"}) {
				t.Errorf("X-Forwarded-Host = %q, want the request's Host only", got)
			}
			if got := e.Header.Values("X-Forwarded-Proto"); !slices.Equal(got, []string{"http"}) {
				t.Errorf("X-Forwarded-Proto = %q, want http only", got)
			}

			// Without an incoming X-Forwarded-For the proxy starts one.
			_, body = get(t, c, "http://"+addr+"/")
			if got := strings.Join(decodeEcho(t, body).Header.Values("X-Forwarded-For"), ", "); got != "127.0.0.1" {
				t.Errorf("X-Forwarded-For = %q, want 127.0.0.1", got)
			}
		})
	}
}

func TestForwardRequestBodies(t *testing.T) {
	big := make([]byte, 1<<20)
	rand.Read(big)
	small := []byte("hello, upstream")
	// chunks hides the length so the client sends the body chunked.
	chunks := func(b []byte) io.Reader {
		return io.MultiReader(bytes.NewReader(b[:len(b)/3]), bytes.NewReader(b[len(b)/3:]))
	}
	cases := []struct {
		name    string
		method  string
		body    []byte
		chunked bool
	}{
		{"post small", "POST", small, false},
		{"post 1MiB", "POST", big, false},
		{"put chunked", "PUT", small, true},
		{"post chunked 1MiB", "POST", big, true},
		{"patch empty", "PATCH", nil, false},
		{"delete", "DELETE", nil, false},
		{"options", "OPTIONS", nil, false},
	}
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			c := newClient(t)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					var r io.Reader = bytes.NewReader(tc.body)
					if tc.chunked {
						r = chunks(tc.body)
					}
					req, _ := http.NewRequest(tc.method, "http://"+addr+"/upload?k=v", r)
					if tc.chunked {
						req.ContentLength = -1
					}
					resp, body := do(t, c, req)
					if resp.StatusCode != 200 {
						t.Fatalf("status %d: %s", resp.StatusCode, body)
					}
					e := decodeEcho(t, body)
					sum := sha256.Sum256(tc.body)
					if e.Method != tc.method || e.URI != "/upload?k=v" {
						t.Errorf("upstream got %s %s", e.Method, e.URI)
					}
					if e.BodyLen != len(tc.body) || e.BodySHA != hex.EncodeToString(sum[:]) {
						t.Errorf("upstream got a body of %d bytes (sha %s), want %d bytes (sha %x)", e.BodyLen, e.BodySHA[:8], len(tc.body), sum[:4])
					}
					if !tc.chunked && len(tc.body) > 0 && e.ContentLength != int64(len(tc.body)) {
						t.Errorf("upstream got Content-Length %d, want %d", e.ContentLength, len(tc.body))
					}
				})
			}
		})
	}
}

func TestForwardDropsHopByHopHeaders(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			c := newClient(t)

			req, _ := http.NewRequest("POST", "http://"+addr+"/", io.MultiReader(strings.NewReader("chunked "), strings.NewReader("body")))
			req.ContentLength = -1 // Transfer-Encoding: chunked
			req.Header.Set("Connection", "X-Client-Hop, keep-alive")
			req.Header.Set("X-Client-Hop", "secret")
			req.Header.Set("Keep-Alive", "timeout=5")
			req.Header.Set("Upgrade", "foo") // not named in Connection: no upgrade
			req.Header.Set("Proxy-Connection", "keep-alive")
			req.Header.Set("X-Client-End", "kept")
			resp, body := do(t, c, req)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			e := decodeEcho(t, body)
			for _, h := range []string{"X-Client-Hop", "Keep-Alive", "Upgrade", "Proxy-Connection", "Transfer-Encoding"} {
				if v, ok := e.Header[h]; ok {
					t.Errorf("upstream got hop-by-hop header %s: %q", h, v)
				}
			}
			if v := e.Header.Get("Connection"); strings.Contains(strings.ToLower(v), "x-client-hop") {
				t.Errorf("upstream got Connection: %q", v)
			}
			if e.Header.Get("X-Client-End") != "kept" {
				t.Errorf("end-to-end header lost: %v", e.Header)
			}
			if e.BodyLen != len("chunked body") {
				t.Errorf("upstream got %d body bytes", e.BodyLen)
			}
		})
	}
}

// An answer's hop-by-hop fields stop at ferry, over each protocol to the client: the HTTP/1.1 loop forwards
// the lines of /hop as they came, less those, and /hop-named (and everything over HTTP/2) by the header map.
func TestForwardDropsHopByHopAnswerHeaders(t *testing.T) {
	for _, m := range serveModesH2 {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			c := m.client(t)
			for _, path := range []string{"/hop-named", "/hop-close", "/hop-close?chunked", "/hop", "/hop?chunked"} {
				resp, body := get(t, c, "http://"+addr+path)
				if resp.StatusCode != 200 || body != "hop" {
					t.Fatalf("%s: status %d body %q", path, resp.StatusCode, body)
				}
				hops := []string{"Keep-Alive", "Upgrade", "Proxy-Connection"}
				if !strings.HasPrefix(path, "/hop?") && path != "/hop" {
					hops = append(hops, "X-Up-Hop")
				}
				for _, h := range hops {
					if v, ok := resp.Header[h]; ok {
						t.Errorf("%s: client got hop-by-hop header %s: %q", path, h, v)
					}
				}
				if v := resp.Header.Get("Connection"); strings.Contains(strings.ToLower(v), "x-up-hop") {
					t.Errorf("%s: client got Connection: %q", path, v)
				}
				if resp.Header.Get("X-Up-End") != "kept" || resp.Header.Get("Content-Type") == "" {
					t.Errorf("%s: end-to-end answer headers lost: %v", path, resp.Header)
				}
				if resp.ContentLength != int64(len("hop")) && !strings.Contains(path, "chunked") {
					t.Errorf("%s: content length %d, want %d", path, resp.ContentLength, len("hop"))
				}
			}
		})
	}
}

// A body after HEAD, 204 or 304 would be read as the start of the next answer on the connection, so the
// answers are sent pipelined on one connection and the last must still parse.
func TestForwardAnswersWithoutBody(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			conn, br := dialRaw(t, addr)
			reqs := []struct{ method, path string }{
				{"HEAD", "/"}, {"GET", "/status/204"}, {"GET", "/status/304"}, {"HEAD", "/stream"}, {"GET", "/last"},
			}
			var raw strings.Builder
			for _, r := range reqs {
				raw.WriteString(r.method + " " + r.path + " HTTP/1.1\r\nHost: app\r\n\r\n")
			}
			if _, err := io.WriteString(conn, raw.String()); err != nil {
				t.Fatal(err)
			}
			want := []int{200, 204, 304, 200}
			for i, code := range want {
				resp, body := readRawResponse(t, br, reqs[i].method)
				if resp.StatusCode != code || body != "" {
					t.Errorf("%s %s: status %d body %q, want %d without body", reqs[i].method, reqs[i].path, resp.StatusCode, body, code)
				}
				if resp.Header.Get("X-Version") != "v1" {
					t.Errorf("%s %s: headers of the upstream lost: %v", reqs[i].method, reqs[i].path, resp.Header)
				}
			}
			resp, body := readRawResponse(t, br, "GET")
			if resp.StatusCode != 200 || decodeEcho(t, body).URI != "/last" {
				t.Errorf("last answer: status %d body %q", resp.StatusCode, body)
			}
			if br.Buffered() != 0 {
				t.Errorf("%d stray bytes after the last answer", br.Buffered())
			}
		})
	}
}

func TestForwardHTTP10Client(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			for _, tc := range []struct{ path, want string }{
				{"/stream", "piece0;piece1;piece2;"}, // length unknown: ends with the connection
				{"/status/200", "status body"},
			} {
				conn, br := dialRaw(t, addr)
				io.WriteString(conn, "GET "+tc.path+" HTTP/1.0\r\nHost: app\r\n\r\n")
				// An HTTP/1.0 exchange ends with the connection: read all, then parse.
				all, err := io.ReadAll(br)
				if err != nil {
					t.Fatalf("%s: read to the end: %v", tc.path, err)
				}
				resp, body := readRawResponse(t, bufio.NewReader(bytes.NewReader(all)), "GET")
				if resp.StatusCode != 200 || body != tc.want {
					t.Errorf("%s: status %d body %q, want 200 %q\n%s", tc.path, resp.StatusCode, body, tc.want, all)
				}
				if len(resp.TransferEncoding) > 0 {
					t.Errorf("%s: HTTP/1.0 client got Transfer-Encoding %v", tc.path, resp.TransferEncoding)
				}
			}
		})
	}
}

func TestForwardPipelinedRequests(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			conn, br := dialRaw(t, addr)
			io.WriteString(conn, "GET /first HTTP/1.1\r\nHost: app\r\n\r\n"+
				"POST /second HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\n\r\nabc"+
				"GET /third HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
			for _, want := range []string{"/first", "/second", "/third"} {
				resp, body := readRawResponse(t, br, "GET")
				if resp.StatusCode != 200 {
					t.Fatalf("%s: status %d", want, resp.StatusCode)
				}
				if got := decodeEcho(t, body).URI; got != want {
					t.Errorf("answer for %s, want %s", got, want)
				}
			}
			if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
				t.Errorf("after Connection: close: %q, %v; want the connection closed", rest, err)
			}
		})
	}
}

func TestForwardStreamsEvents(t *testing.T) {
	modes := append(slices.Clip(serveModes), serveMode{"h2c", startServe})
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			c := newClient(t)
			if m.name == "h2c" {
				c = newH2CClient(t)
			}
			resp, err := c.Get("http://" + addr + "/sse")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			// The upstream holds the rest of the stream until released: the first event must arrive first.
			line, err := br.ReadString('\n')
			if err != nil || line != "data: one\n" {
				t.Fatalf("first line %q, %v; want the first event before the upstream finishes", line, err)
			}
			if up.finished.Load() != 0 {
				t.Fatal("upstream finished early")
			}
			up.unblock()
			rest, err := io.ReadAll(br)
			if err != nil || string(rest) != "\ndata: two\n\n" {
				t.Errorf("rest %q, %v", rest, err)
			}
		})
	}
}

func TestForwardUpgrade(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			p := newProxy(t, Route{Stable: up.asStable()})
			addr := m.start(t, p)
			conn, br := dialRaw(t, addr)
			io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: app\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
			resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d, want 101", resp.StatusCode)
			}
			if !strings.EqualFold(resp.Header.Get("Upgrade"), "echo") || !strings.EqualFold(resp.Header.Get("Connection"), "upgrade") {
				t.Errorf("101 without its Upgrade/Connection headers: %v", resp.Header)
			}
			for _, msg := range []string{"ping", "a longer message\x00\xff", strings.Repeat("x", 100_000)} {
				go io.WriteString(conn, msg)
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(br, got); err != nil {
					t.Fatalf("echo of %d bytes: %v", len(msg), err)
				}
				if string(got) != msg {
					t.Fatalf("echo %q, want %q", got[:min(len(got), 20)], msg[:min(len(msg), 20)])
				}
			}
			conn.Close()
			// net/http's path counts the request when the joined connections end.
			eventually(t, "the upgrade counted once", func() bool { return p.Stats("v1").Total().Requests == 1 })
		})
	}
}

func TestServeH2C(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := startServe(t, newProxy(t, Route{Stable: up.asStable()}))
	c := newH2CClient(t)
	for i := range 3 {
		resp, body := get(t, c, "http://"+addr+"/h2?i=1")
		if resp.ProtoMajor != 2 {
			t.Fatalf("request %d: answered over %s, want HTTP/2", i, resp.Proto)
		}
		if resp.StatusCode != 200 || resp.Header.Get("X-Up") != "yes" {
			t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
		}
		e := decodeEcho(t, body)
		if e.URI != "/h2?i=1" || e.Proto != "HTTP/1.1" || e.Header.Get("X-Forwarded-For") != "127.0.0.1" || e.Header.Get("X-Forwarded-Proto") != "http" {
			t.Errorf("upstream got %s %s %s, headers %v", e.Method, e.URI, e.Proto, e.Header)
		}
	}
	payload := bytes.Repeat([]byte("h2 body "), 40_000)
	req, _ := http.NewRequest("POST", "http://"+addr+"/up", bytes.NewReader(payload))
	resp, body := do(t, c, req)
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("POST: %s %d", resp.Proto, resp.StatusCode)
	}
	if e := decodeEcho(t, body); e.Method != "POST" || e.BodyLen != len(payload) {
		t.Errorf("upstream got %s with %d body bytes, want POST with %d", e.Method, e.BodyLen, len(payload))
	}
	// HTTP/1.1 clients still work on the same listener.
	resp, _ = get(t, newClient(t), "http://"+addr+"/h1")
	if resp.ProtoMajor != 1 || resp.StatusCode != 200 {
		t.Errorf("HTTP/1.1 after h2c: %s %d", resp.Proto, resp.StatusCode)
	}
}

// An upgrade request that declares a body: the upstream must get the body with the request (or the proxy must
// refuse the request); either way the client gets an answer rather than a connection that hangs.
func TestForwardUpgradeRequestWithBody(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			conn, br := dialRaw(t, addr)
			conn.SetDeadline(time.Now().Add(5 * time.Second)) // a hang guard only
			io.WriteString(conn, "POST /upload HTTP/1.1\r\nHost: app\r\nUpgrade: echo\r\nConnection: Upgrade\r\nContent-Length: 4\r\n\r\nbody")
			resp, err := http.ReadResponse(br, &http.Request{Method: "POST"})
			if err != nil {
				t.Fatalf("no answer to an upgrade request with a body: %v", err)
			}
			resp.Body.Close()
		})
	}
}
