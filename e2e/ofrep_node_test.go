package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeSDK are the npm packages a Node.js server reads flags over OFREP with: the OpenFeature server SDK and
// its OFREP provider, with what they import, pinned so the test reads the same code every run.
var nodeSDK = map[string]string{
	"@openfeature/server-sdk":     "1.23.0",
	"@openfeature/core":           "1.12.0",
	"@openfeature/ofrep-provider": "0.1.3",
	"@openfeature/ofrep-core":     "0.1.4",
}

// nodeFlagsScript is docs/flags.md's Node example, made to print what it got as JSON.
const nodeFlagsScript = `const { OpenFeature } = require('@openfeature/server-sdk');
const { OFREPProvider } = require('@openfeature/ofrep-provider');

(async () => {
  await OpenFeature.setProviderAndWait(new OFREPProvider({
    baseUrl: process.env.FERRY_URL,
    headers: [['Authorization', 'Bearer ' + process.env.FLAGS_TOKEN]],
  }));
  const client = OpenFeature.getClient();
  const user = { targetingKey: 'user-1', email: 'ann@example.com' };
  const pick = (d) => ({ value: d.value, variant: d.variant, reason: d.reason, errorCode: d.errorCode });
  console.log(JSON.stringify({
    checkout: pick(await client.getBooleanDetails('new-checkout', false, user)),
    copy: pick(await client.getStringDetails('checkout-copy', 'fallback', user)),
    items: pick(await client.getNumberDetails('max-items', 0, user)),
    killed: pick(await client.getBooleanDetails('killed', true, user)),
    missing: pick(await client.getBooleanDetails('no-such-flag', true, user)),
  }));
  await OpenFeature.close();
})().catch((e) => { console.error(e); process.exit(1); });
`

// TestOFREPFromNodeServerSDK reads ferry's flags with the OpenFeature server SDK for Node.js and its OFREP
// provider, installed from npm, as docs/flags.md shows.
func TestOFREPFromNodeServerSDK(t *testing.T) {
	for _, tool := range []string{"node", "npm", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("this test needs %s (Debian packages nodejs, npm and python3; .ci/run installs them): %v", tool, err)
		}
	}
	dir := t.TempDir()
	pkg, _ := json.Marshal(map[string]any{"name": "checkout", "private": true, "dependencies": nodeSDK})
	os.WriteFile(filepath.Join(dir, "package.json"), pkg, 0o644)
	os.WriteFile(filepath.Join(dir, "flags.js"), []byte(nodeFlagsScript), 0o644)
	install := exec.Command("npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", "--loglevel=error")
	install.Dir = dir
	install.Env = append(os.Environ(), "npm_config_cache="+filepath.Join(dir, ".npm"), "npm_config_update_notifier=false")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install %v: %v\n%s", nodeSDK, err, out)
	}

	repo := newRemote(t)
	listen := freeAddr(t)
	f := startFerry(t)
	f.addProject("shop", repo.URL, "--poll", "0")
	repo.commit("main", "v1", map[string]string{".ferry.yaml": fmt.Sprintf(shopPipeline, listen), ".ferry/flags.yaml": flagsFile + killedFlag})
	r := f.waitRun(f.trigger("shop"))
	if r.State != "passed" {
		t.Fatalf("run: %s %s", r.State, r.Reason)
	}
	if ro := f.waitRollout("shop", "production", r.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("rollout: %+v", ro)
	}
	var tc struct{ Token string }
	if err := json.Unmarshal([]byte(f.mustCLI("token", "create", "checkout-app", "--flags", "shop/production", "--json")), &tc); err != nil {
		t.Fatal(err)
	}

	node := exec.Command("node", "flags.js")
	node.Dir = dir
	node.Env = append(os.Environ(), "FERRY_URL="+f.url(""), "FLAGS_TOKEN="+tc.Token)
	out, err := node.Output()
	if err != nil {
		t.Fatalf("node flags.js: %v\n%s", err, out)
	}
	var got map[string]flagDetails
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %s: %v", out, err)
	}
	for key, want := range map[string]flagDetails{
		"checkout": {Value: true, Variant: "on", Reason: "TARGETING_MATCH"},
		"copy":     {Value: "Buy", Variant: "short", Reason: "STATIC"},
		"items":    {Value: float64(50), Variant: "many", Reason: "STATIC"},
		// An unknown flag is an error the SDK answers with the code's default.
		"missing": {Value: true, Reason: "ERROR", ErrorCode: "FLAG_NOT_FOUND"},
	} {
		if g := got[key]; g != want {
			t.Errorf("%s: %+v, want %+v", key, g, want)
		}
	}
	// A disabled flag gives the code's default. This provider (0.1.3) reads ferry's answer without a value,
	// as flagd's, as an error (ERROR, GENERAL) where the web provider says DISABLED: the value is what an app
	// relies on.
	if g := got["killed"]; g.Value != true || g.Variant != "" {
		t.Errorf("killed: %+v, want the code default true", g)
	}
	if t.Failed() {
		t.Logf("node printed: %s", strings.TrimSpace(string(out)))
	}
}
