package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ferry-cd/ferry/internal/proxy/tlstest"
)

// browserPage loads what a web app's page does over one HTTP/2 connection: thirty requests at once, an upload
// of 3 MB (past the stream window), a download of 5 MB and a stream of server-sent events, and leaves what it
// saw in window.result.
const browserPage = `<!doctype html><html><head><meta charset="utf-8"><title>app</title><script>
(async () => {
  try {
    const items = await Promise.all([...Array(30).keys()].map(i => fetch('/item/' + i).then(r => r.json())));
    const up = await fetch('/upload', {method: 'POST', body: 'x'.repeat(3 << 20)}).then(r => r.text());
    const down = await fetch('/big').then(r => r.arrayBuffer());
    const events = await new Promise((resolve, reject) => {
      const got = [], es = new EventSource('/events');
      es.onmessage = e => { got.push(e.data); if (got.length === 3) { es.close(); resolve(got); } };
      es.onerror = () => { es.close(); reject(new Error('event stream failed')); };
    });
    const protocols = [...new Set(performance.getEntriesByType('resource').map(e => e.nextHopProtocol))];
    window.result = {items: items.map(i => i.n).join(','), up, down: down.byteLength, events: events.join(','),
      protocols: protocols.join(','), cookie: await fetch('/cookie').then(r => r.text())};
  } catch (e) {
    window.result = {error: String(e)};
  }
})();
</script></head><body>app</body></html>`

// TestH2WithChromium: a real browser speaks HTTP/2 to ferry's server over TLS (HPACK with Huffman coding,
// many streams, window updates, cookies) and gets every answer whole. Needs Chromium (Debian package
// chromium); the test fails without it rather than skip.
func TestH2WithChromium(t *testing.T) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("this test needs Chromium (Debian package chromium): ", err)
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1"})
			http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark"})
			io.WriteString(w, browserPage)
		case strings.HasPrefix(r.URL.Path, "/item/"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"n":%q}`, strings.TrimPrefix(r.URL.Path, "/item/"))
		case r.URL.Path == "/upload":
			n, _ := io.Copy(io.Discard, r.Body)
			io.WriteString(w, strconv.FormatInt(n, 10))
		case r.URL.Path == "/big":
			w.Write([]byte(strings.Repeat("b", 5<<20)))
		case r.URL.Path == "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			for i := range 3 {
				fmt.Fprintf(w, "data: e%d\n\n", i)
				http.NewResponseController(w).Flush()
				time.Sleep(20 * time.Millisecond)
			}
		case r.URL.Path == "/cookie":
			io.WriteString(w, r.Header.Get("Cookie"))
		}
	}))
	defer app.Close()
	ca := tlstest.NewCA(t)
	s := &Site{TLS: true}
	p := newProxy(t, Route{Stable: Version{Role: Stable, Release: "1", Upstreams: []string{app.Listener.Addr().String()}}})
	if err := s.SetHosts([]*Host{{Names: []string{"app.example.com"}, Proxy: p, Certificate: ca.Pair(t, "app.example.com")}}); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(startSite(t, s))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("host-resolver-rules", "MAP app.example.com 127.0.0.1"),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if _, err := chromedp.Run(bctx, chromedp.Navigate("https://app.example.com:"+port+"/")); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	result, err := chromedp.Run(bctx, chromedp.Poll[map[string]any](`window.result`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
	if err != nil {
		t.Fatalf("the page's result: %v", err)
	}
	want := map[string]any{
		"items":     strings.Trim(strings.Join(strings.Fields(fmt.Sprint(seq(30))), ","), "[]"),
		"up":        strconv.Itoa(3 << 20),
		"down":      float64(5 << 20),
		"events":    "e0,e1,e2",
		"protocols": "h2",
		"cookie":    "session=s1; theme=dark",
	}
	for k, v := range want {
		if result[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, result[k], v, result)
		}
	}
	if n := p.Stats("1").Total().Requests; n < 35 {
		t.Errorf("the figures counted %d requests; the page made 35", n)
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
