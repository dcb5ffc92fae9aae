package proxy

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// clientCookie returns the ferry_client value an answer sets, or "".
func clientCookie(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			return c.Value
		}
	}
	return ""
}

func TestRouteSplitsFreshClientsByWeight(t *testing.T) {
	const n, weight = 4000, 25
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			stable, canary := newUpstream(t, "v1"), newUpstream(t, "v2")
			addr := m.start(t, newProxy(t, Route{Stable: stable.asStable(), Canary: canary.asCanary(weight)}))
			c := newClient(t)
			onCanary := 0
			ids := map[string]string{} // client id → version it was sent to
			for i := range n {
				resp, _ := get(t, c, "http://"+addr+"/")
				v := resp.Header.Get("X-Version")
				if v == "v2" {
					onCanary++
				}
				id := clientCookie(resp)
				if id == "" || !validClientID(id) {
					t.Fatalf("fresh client %d got cookie %q, want a new %s", i, id, CookieName)
				}
				if _, dup := ids[id]; dup {
					t.Fatalf("client id %s handed out twice", id)
				}
				ids[id] = v
				if i == 0 {
					ck := resp.Cookies()[0]
					if ck.Path != "/" || !ck.HttpOnly || ck.MaxAge <= 0 {
						t.Errorf("cookie %v: want Path=/, HttpOnly and a Max-Age", ck)
					}
				}
			}
			// Binomial(n, p): allow 5 standard deviations, a false alarm about once in 1.7 million runs.
			mean := n * weight / 100.0
			sd := math.Sqrt(n * weight / 100.0 * (1 - weight/100.0))
			if math.Abs(float64(onCanary)-mean) > 5*sd {
				t.Errorf("%d of %d fresh clients on the canary, want %.0f ± %.0f", onCanary, n, mean, 5*sd)
			}

			// Sticky: a client that brings its cookie back stays on its version, and keeps its id.
			checked := 0
			for id, v := range ids {
				if checked == 100 {
					break
				}
				checked++
				for range 5 {
					req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
					req.AddCookie(&http.Cookie{Name: CookieName, Value: id})
					resp, _ := do(t, c, req)
					if got := resp.Header.Get("X-Version"); got != v {
						t.Fatalf("client %s moved from %s to %s", id, v, got)
					}
					if got := clientCookie(resp); got != "" {
						t.Fatalf("client %s with a valid cookie was given a new one: %s", id, got)
					}
				}
			}
		})
	}
}

func TestRouteVersionHeaderForcesVersion(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			for _, weight := range []int{0, 25, 100} {
				stable, canary := newUpstream(t, "v1"), newUpstream(t, "v2")
				addr := m.start(t, newProxy(t, Route{Stable: stable.asStable(), Canary: canary.asCanary(weight)}))
				c := newClient(t)
				for _, tc := range []struct{ header, want string }{{"canary", "v2"}, {"stable", "v1"}} {
					for range 20 {
						req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
						req.Header.Set(VersionHeader, tc.header)
						resp, _ := do(t, c, req)
						if got := resp.Header.Get("X-Version"); got != tc.want {
							t.Fatalf("weight %d, %s: %s served, want %s", weight, tc.header, got, tc.want)
						}
					}
				}
			}
		})
	}
}

func TestRouteWeightBounds(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			for _, tc := range []struct {
				weight int
				want   string
			}{{0, "v1"}, {-5, "v1"}, {100, "v2"}, {150, "v2"}} {
				stable, canary := newUpstream(t, "v1"), newUpstream(t, "v2")
				addr := m.start(t, newProxy(t, Route{Stable: stable.asStable(), Canary: canary.asCanary(tc.weight)}))
				c := newClient(t)
				for range 200 {
					resp, _ := get(t, c, "http://"+addr+"/")
					if got := resp.Header.Get("X-Version"); got != tc.want {
						t.Fatalf("weight %d: %s served, want %s", tc.weight, got, tc.want)
					}
				}
			}
		})
	}
}

func TestRouteReplacesForgedCookie(t *testing.T) {
	forged := []string{
		"not-hex",
		"ABCDEF0123",            // upper case is not what ferry hands out
		strings.Repeat("a", 65), // too long
		"deadbeef zz",
		"",
	}
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			stable, canary := newUpstream(t, "v1"), newUpstream(t, "v2")
			addr := m.start(t, newProxy(t, Route{Stable: stable.asStable(), Canary: canary.asCanary(50)}))
			c := newClient(t)
			for _, v := range forged {
				req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
				req.Header.Set("Cookie", CookieName+"="+v)
				resp, _ := do(t, c, req)
				if resp.StatusCode != 200 {
					t.Fatalf("cookie %q: status %d", v, resp.StatusCode)
				}
				got := clientCookie(resp)
				if got == "" || got == v || !validClientID(got) {
					t.Errorf("cookie %q: answer set %q, want a fresh id", v, got)
				}
			}
		})
	}
}

// pickFor returns the version a client with id is sent to at weight.
func pickFor(p *Proxy, id string) Role {
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: id})
	tg, _ := p.cur.Load().pick(req)
	return tg.role
}

func TestBucketMonotonicInWeight(t *testing.T) {
	ids := make([]string, 2000)
	for i := range ids {
		ids[i] = newClientID()
	}
	p := &Proxy{}
	onCanary := make([]bool, len(ids))
	for w := 0; w <= 100; w++ {
		p.SetRoute(Route{
			Stable: Version{Role: Stable, Release: "s", Upstreams: []string{"127.0.0.1:1"}},
			Canary: &Version{Role: Canary, Release: "c", Weight: w, Upstreams: []string{"127.0.0.1:2"}},
		})
		count := 0
		for i, id := range ids {
			now := pickFor(p, id) == Canary
			if onCanary[i] && !now {
				t.Fatalf("raising the weight to %d moved client %s back to stable", w, id)
			}
			onCanary[i] = now
			if now {
				count++
			}
		}
		switch {
		case w == 0 && count != 0:
			t.Errorf("weight 0: %d clients on the canary", count)
		case w == 100 && count != len(ids):
			t.Errorf("weight 100: %d of %d clients on the canary", count, len(ids))
		}
	}
}

func TestBucket(t *testing.T) {
	if a, b := Bucket("abc"), Bucket("abc"); a != b {
		t.Fatal("Bucket is not a function of its input")
	}
	// Chi-square over 20 equal ranges of buckets: with 19 degrees of freedom, 60 is exceeded by chance about
	// once in a million runs.
	const n, cells = 100_000, 20
	var counts [cells]int
	for range n {
		b := Bucket(newClientID())
		if b < 0 || b >= 10000 {
			t.Fatalf("bucket %d out of [0, 10000)", b)
		}
		counts[b*cells/10000]++
	}
	exp := float64(n) / cells
	chi := 0.0
	for _, c := range counts {
		chi += (float64(c) - exp) * (float64(c) - exp) / exp
	}
	if chi > 60 {
		t.Errorf("buckets of random ids far from uniform: chi-square %.1f, counts %v", chi, counts)
	}
}

func TestSetRouteSwitchesAndDrains(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			old, next := newUpstream(t, "v1"), newUpstream(t, "v2")
			p := newProxy(t, Route{Stable: old.asStable()})
			addr := m.start(t, p)
			c := newClient(t)

			// Warm a pooled connection to the old version, then hold a request on it.
			get(t, c, "http://"+addr+"/")
			type answer struct {
				resp *http.Response
				body string
			}
			slow := make(chan answer, 1)
			go func() {
				resp, err := c.Get("http://" + addr + "/slow")
				if err != nil {
					slow <- answer{}
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				slow <- answer{resp, string(b)}
			}()
			old.waitStarted(t)

			p.SetRoute(Route{Stable: next.asStable()})
			if got := p.Route().Stable.Release; got != "v2" {
				t.Fatalf("Route() = %s after SetRoute, want v2", got)
			}
			for range 5 {
				resp, _ := get(t, c, "http://"+addr+"/")
				if got := resp.Header.Get("X-Version"); got != "v2" {
					t.Fatalf("new request served by %s after SetRoute, want v2", got)
				}
			}

			// The old version still has a request in flight: a drain that must end soon gives up.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			err := p.Drain(ctx, old.asStable().Upstreams)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Drain with a request in flight = %v, want context.DeadlineExceeded", err)
			}
			ctx, cancel = context.WithCancel(context.Background())
			cancel()
			if err := p.Drain(ctx, old.asStable().Upstreams); !errors.Is(err, context.Canceled) {
				t.Fatalf("Drain with a cancelled context = %v, want context.Canceled", err)
			}

			drained := make(chan error, 1)
			finishedAtDrain := make(chan int64, 1)
			go func() {
				err := p.Drain(context.Background(), old.asStable().Upstreams)
				finishedAtDrain <- old.finished.Load()
				drained <- err
			}()
			old.unblock()
			a := <-slow
			if a.resp == nil {
				t.Fatal("the request in flight failed across SetRoute")
			}
			if a.resp.StatusCode != 200 || a.body != "slow from v1" {
				t.Errorf("request in flight: %d %q, want the old version's answer", a.resp.StatusCode, a.body)
			}
			if err := <-drained; err != nil {
				t.Fatalf("Drain = %v", err)
			}
			if n := <-finishedAtDrain; n != 1 {
				t.Errorf("Drain returned before the request in flight finished")
			}
			// Drained upstreams lose their pooled connections.
			eventually(t, "the old version's connections closed", func() bool {
				return old.closedConns.Load() == old.newConns.Load()
			})
			resp, _ := get(t, c, "http://"+addr+"/")
			if got := resp.Header.Get("X-Version"); got != "v2" {
				t.Errorf("after Drain: %s served, want v2", got)
			}
		})
	}
}

// Drain of upstreams the current route still uses leaves them serving.
func TestDrainKeepsUpstreamsInUse(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			p := newProxy(t, Route{Stable: up.asStable()})
			addr := m.start(t, p)
			c := newClient(t)
			get(t, c, "http://"+addr+"/")
			if err := p.Drain(context.Background(), up.asStable().Upstreams); err != nil {
				t.Fatal(err)
			}
			p.SetRoute(Route{Stable: up.asStable()}) // same release, same address
			for range 3 {
				if resp, _ := get(t, c, "http://"+addr+"/"); resp.StatusCode != 200 {
					t.Fatalf("status %d after draining an upstream still in use", resp.StatusCode)
				}
			}
			if n := up.newConns.Load(); n != 1 {
				t.Errorf("upstream saw %d connections, want its pooled one kept", n)
			}
		})
	}
}

// TestRouteCookieBesideTheAppsCookies: a fresh client whose answer sets the app's own cookie gets that cookie
// and ferry's sticky-split cookie, over HTTP/1.1 (ferry's loop and net/http's) and over HTTP/2 alike.
func TestRouteCookieBesideTheAppsCookies(t *testing.T) {
	for _, m := range serveModesH2 {
		t.Run(m.name, func(t *testing.T) {
			stable, canary := newUpstream(t, "v1"), newUpstream(t, "v2")
			addr := m.start(t, newProxy(t, Route{Stable: stable.asStable(), Canary: canary.asCanary(50)}))
			c := m.client(t)
			resp, _ := get(t, c, "http://"+addr+"/cookie")
			var names []string
			for _, ck := range resp.Cookies() {
				names = append(names, ck.Name)
			}
			if len(names) != 2 || names[0] != "app" || names[1] != CookieName {
				t.Errorf("cookies set: %v, want the app's and then %s", names, CookieName)
			}
		})
	}
}

// TestIdleUpstreamConnectionHoldsNoClient: an upstream connection back in the pool keeps nothing of the
// request it last carried (its answer is kept in the connection's scratch, and an answer points to its
// request, and through it to the client's connection and buffers), over HTTP/1.1 and HTTP/2.
func TestIdleUpstreamConnectionHoldsNoClient(t *testing.T) {
	for _, m := range serveModesH2 {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			p := newProxy(t, Route{Stable: up.asStable()})
			addr := m.start(t, p)
			c := m.client(t)
			if resp, body := get(t, c, "http://"+addr+"/cookie"); resp.StatusCode != 200 || body != "cookie" {
				t.Fatalf("answer %d %q", resp.StatusCode, body)
			}
			// The connection goes back to the pool just after the answer's last byte is written.
			pl := p.cur.Load().stable.backends[0].pool
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				pl.mu.Lock()
				if len(pl.idle) == 1 {
					break
				}
				pl.mu.Unlock()
				if time.Now().After(deadline) {
					t.Fatal("the upstream connection never went back to the pool")
				}
			}
			defer pl.mu.Unlock()
			if sc := pl.idle[0].sc; sc.resp.Request != nil || sc.resp.Body != nil || sc.body.r != nil {
				t.Errorf("the idle connection still holds its last answer: request %p, body %v", sc.resp.Request, sc.resp.Body)
			}
		})
	}
}
