package proxy

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestPauseStopResume: while paused new requests wait and a request in flight finishes; resumed, the waiting
// ones proceed; stopped, new requests get the operator's maintenance page with Retry-After; a pause longer
// than its timeout answers 503. None of it counts in the release's figures.
func TestPauseStopResume(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			p := newProxy(t, Route{Stable: up.asStable()})
			addr := m.start(t, p)
			c := newClient(t)
			type answer struct {
				code int
				body string
				err  error
			}
			send := func(path string) chan answer {
				ch := make(chan answer, 1)
				go func() {
					resp, err := c.Get("http://" + addr + path)
					if err != nil {
						ch <- answer{err: err}
						return
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					ch <- answer{code: resp.StatusCode, body: string(b)}
				}()
				return ch
			}

			inflight := send("/slow")
			up.waitStarted(t)
			p.SetTraffic(Traffic{Mode: TrafficPaused, Timeout: hangGuard})
			waiting := send("/")
			up.unblock()
			if a := <-inflight; a.err != nil || a.code != 200 {
				t.Fatalf("the request in flight when paused: %d %v, want 200", a.code, a.err)
			}
			select {
			case a := <-waiting:
				t.Fatalf("a request sent while paused was answered before resume: %d %q %v", a.code, a.body, a.err)
			case <-time.After(200 * time.Millisecond):
			}
			if got := p.Traffic().Mode; got != TrafficPaused {
				t.Errorf("Traffic() = %q, want paused", got)
			}
			p.SetTraffic(Traffic{Mode: TrafficServing})
			if a := <-waiting; a.err != nil || a.code != 200 {
				t.Fatalf("the waiting request after resume: %d %v, want 200", a.code, a.err)
			}

			p.SetTraffic(Traffic{Mode: TrafficStopped, Message: "<h1>Back at 10:00</h1>"})
			resp, err := c.Get("http://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 503 || !strings.Contains(string(b), "Back at 10:00") || resp.Header.Get("Retry-After") == "" ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("stopped: %d %q %v, want 503 with the page, Retry-After and text/html", resp.StatusCode, b, resp.Header)
			}

			p.SetTraffic(Traffic{Mode: TrafficPaused, Timeout: 100 * time.Millisecond})
			if a := <-send("/"); a.code != 503 {
				t.Errorf("past the pause's timeout: %d %v, want 503", a.code, a.err)
			}
			p.SetTraffic(Traffic{})
			if a := <-send("/"); a.code != 200 {
				t.Errorf("resumed: %d %v, want 200", a.code, a.err)
			}
			if tot := p.Stats("v1").Total(); tot.Errors != 0 || tot.Requests != 3 {
				t.Errorf("figures %+v, want the 3 served requests and no error: maintenance answers are not the release's", tot)
			}
		})
	}
}
