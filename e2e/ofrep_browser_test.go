package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// webSDK are the npm packages a web page needs to read flags over OFREP: the OpenFeature web SDK and its OFREP
// provider, with what they import. Versions are pinned so that the test reads the same code every run.
var webSDK = map[string]string{
	"@openfeature/web-sdk":            "1.10.0",
	"@openfeature/core":               "1.12.0",
	"@openfeature/ofrep-web-provider": "0.4.3",
	"@openfeature/ofrep-core":         "2.3.0",
}

// webSDKImports maps each package to its ES module, for the page's import map: the browser loads the files
// npm installed as they are, with nothing bundled.
var webSDKImports = map[string]string{
	"@openfeature/web-sdk":            "/node_modules/@openfeature/web-sdk/dist/esm/index.js",
	"@openfeature/core":               "/node_modules/@openfeature/core/dist/esm/index.js",
	"@openfeature/ofrep-web-provider": "/node_modules/@openfeature/ofrep-web-provider/index.esm.js",
	"@openfeature/ofrep-core":         "/node_modules/@openfeature/ofrep-core/index.esm.js",
}

// shopPage is a web shop's page: it points the OFREP web provider at ferry (?ferry=URL) with a flags token
// (?token=) sent as X-API-Key, evaluates three flags for a signed-in user, and leaves what it got, or the
// error, in window.result.
const shopPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>shop</title>
<script type="importmap">IMPORTS</script>
<script type="module">
import { OpenFeature } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
const q = new URLSearchParams(location.search);
try {
  await OpenFeature.setContext({ targetingKey: 'user-1', email: 'ann@example.com' });
  await OpenFeature.setProviderAndWait(new OFREPWebProvider({
    baseUrl: q.get('ferry'), headers: [['X-API-Key', q.get('token')]], cacheMode: 'disabled',
  }));
  const c = OpenFeature.getClient();
  const pick = (d) => ({ value: d.value, variant: d.variant, reason: d.reason, errorCode: d.errorCode });
  window.result = {
    checkout: pick(c.getBooleanDetails('new-checkout', false)),
    copy: pick(c.getStringDetails('checkout-copy', 'fallback')),
    killed: pick(c.getBooleanDetails('killed', true)),
  };
} catch (e) {
  window.result = { error: String(e && e.message || e) };
}
</script></head><body>shop</body></html>
`

// killedFlag is a disabled flag whose default variant differs from the page's code default.
const killedFlag = `  killed:
    variants: {on: true, off: false}
    default: off
    disabled: true
`

// shopPipeline deploys a release with nothing to build, a static file server, so that the flags go live in
// a second or two.
const shopPipeline = `version: 1
stages:
  - name: check
    steps:
      - {name: flags, run: "test -f .ferry/flags.yaml"}
environments:
  - name: production
    service: {run: "exec python3 -m http.server \"$PORT\" --bind 127.0.0.1", listen: "%s", health: {path: /, interval: 100ms}}
    strategy: direct
`

// installWebSDK installs webSDK with npm into a new folder and returns it. It needs npm and the npm registry,
// as CI has them (.ci/run installs Debian's nodejs and npm).
func installWebSDK(t *testing.T) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("the OFREP browser test installs the OpenFeature web SDK with npm (Debian packages nodejs and npm): ", err)
	}
	dir := t.TempDir()
	pkg, _ := json.Marshal(map[string]any{"name": "shop", "private": true, "dependencies": webSDK})
	if err := os.WriteFile(filepath.Join(dir, "package.json"), pkg, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", "--loglevel=error")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_cache="+filepath.Join(dir, ".npm"), "npm_config_update_notifier=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install %v: %v\n%s", webSDK, err, out)
	}
	for _, file := range webSDKImports {
		if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
			t.Fatalf("npm installed no %s: %v", file, err)
		}
	}
	return dir
}

// serveShop serves the page and the installed packages from dir on a new loopback port, a web origin of its
// own, and returns that origin.
func serveShop(t *testing.T, dir string) string {
	t.Helper()
	imports, _ := json.Marshal(map[string]any{"imports": webSDKImports})
	page := strings.Replace(shopPage, "IMPORTS", string(imports), 1)
	mux := http.NewServeMux()
	mux.Handle("/node_modules/", http.FileServer(http.Dir(dir)))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

type flagDetails struct {
	Value           any
	Variant, Reason string
	ErrorCode       string
}

// TestOFREPInABrowser evaluates ferry's flags with the OpenFeature web SDK and its OFREP provider, installed
// from npm, in headless Chromium, from a page on another origin than ferry's: the origin the flags token allows
// gets its flags (a disabled flag gives the page its code default), and a page from another origin is refused
// by the browser. The token is made before the first release, as an app's usually is, and one for an
// environment that does not exist is refused.
func TestOFREPInABrowser(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("the OFREP browser test deploys python3's http.server (Debian package python3): ", err)
	}
	modules := installWebSDK(t)
	shop := serveShop(t, modules)
	other := serveShop(t, modules) // another port: another origin
	ctx := browser(t)

	repo := newRemote(t)
	listen := freeAddr(t)
	f := startFerry(t)
	t.Cleanup(func() { f.cli("", "dataplane", "stop", "--data", f.data) })
	f.addProject("shop", repo.URL, "--poll", "0")

	out, stderr, code := f.cli("", "token", "create", "shop-web", "--flags", "shop/production", "--allow-origin", shop, "--json")
	if code != 0 || !strings.Contains(stderr, "project shop has no release yet") {
		t.Fatalf("token create before the first release: exit %d, stderr %q; want a warning", code, stderr)
	}
	var tc struct{ Token string }
	if err := json.Unmarshal([]byte(out), &tc); err != nil {
		t.Fatalf("token create --json: %v: %s", err, out)
	}
	if list := f.mustCLI("token", "list"); !strings.Contains(list, "shop/production") || !strings.Contains(list, " "+shop+" ") {
		t.Errorf("token list does not show the token's origin:\n%s", list)
	}
	if _, stderr, code := f.cli("", "token", "create", "site", "--allow-origin", shop); code == 0 || !strings.Contains(stderr, "give --flags PROJECT/ENV too") {
		t.Errorf("--allow-origin without --flags: exit %d, %q", code, stderr)
	}

	repo.commit("main", "v1", map[string]string{".ferry.yaml": fmt.Sprintf(shopPipeline, listen), ".ferry/flags.yaml": flagsFile + killedFlag})
	r1 := f.waitRun(f.trigger("shop"))
	if r1.State != "passed" {
		t.Fatalf("run of v1: %s %s", r1.State, r1.Reason)
	}
	if ro := f.waitRollout("shop", "production", r1.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("v1 rollout: %+v", ro)
	}
	if _, stderr, code := f.cli("", "token", "create", "typo", "--flags", "shop/prod"); code == 0 ||
		!strings.Contains(stderr, `environment "prod" of project shop does not exist: its environments are production`) {
		t.Errorf("a flags token for an environment that does not exist: exit %d, %q", code, stderr)
	}

	open := func(origin string) map[string]json.RawMessage {
		t.Helper()
		page := origin + "/?" + url.Values{"ferry": {f.url("")}, "token": {tc.Token}}.Encode()
		do(t, ctx, "open "+page, chromedp.Navigate(page))
		eval(t, ctx, "wait for the flags on "+origin, chromedp.Poll[bool](`window.result !== undefined`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
		raw := eval(t, ctx, "read the result", chromedp.Evaluate[string](`JSON.stringify(window.result)`))
		var res map[string]json.RawMessage
		if err := json.Unmarshal([]byte(raw), &res); err != nil {
			t.Fatalf("result %s: %v", raw, err)
		}
		return res
	}
	res := open(shop)
	if e, ok := res["error"]; ok {
		t.Fatalf("the page on %s could not read its flags: %s", shop, e)
	}
	for key, want := range map[string]flagDetails{
		"checkout": {Value: true, Variant: "on", Reason: "TARGETING_MATCH"},
		"copy":     {Value: "Buy", Variant: "short", Reason: "STATIC"},
		// The page's code default, not the flag's default variant: the flag is disabled.
		"killed": {Value: true, Reason: "DISABLED"},
	} {
		var got flagDetails
		if err := json.Unmarshal(res[key], &got); err != nil || got != want {
			t.Errorf("%s on the allowed origin: %s, want %+v", key, res[key], want)
		}
	}

	res = open(other)
	if e, ok := res["error"]; !ok {
		t.Errorf("a page from %s, which the token does not allow, read flags: %v", other, res)
	} else {
		t.Logf("the page from %s got: %s", other, e)
	}
	// What the browser was told: the preflight from that origin is refused.
	req, _ := http.NewRequest("OPTIONS", f.url("/ofrep/v1/evaluate/flags"), nil)
	req.Header.Set("Origin", other)
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from %s: %d, Allow-Origin %q", other, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
