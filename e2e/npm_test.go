package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// helloPackage is a tiny npm package with a bin, as ejs is: the bin requires a file beside its own folder
// (../lib/greet), which only works when node_modules/.bin/hello-server is the symlink npm made, not a copy.
var helloPackage = map[string]string{
	"package.json": `{"name": "hello-server", "version": "1.0.0", "bin": {"hello-server": "bin/cli.js"}}` + "\n",
	"bin/cli.js": `#!/usr/bin/env node
const greet = require('../lib/greet');
const http = require('http');
http.createServer((req, res) => res.end(req.url === '/healthz' ? 'ok' : greet(process.env.FERRY_RELEASE)))
  .listen(Number(process.env.PORT), '127.0.0.1');
`,
	"lib/greet.js": "module.exports = (release) => 'hello from release ' + release + '\\n';\n",
}

// npmApp packs helloPackage and makes an app that depends on the tarball, with the package-lock.json npm
// writes for it: a real `npm ci` tree, with no registry needed.
func npmApp(t *testing.T) map[string]string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("this test installs a package with npm (Debian packages nodejs and npm; .ci/run installs them): ", err)
	}
	dir := t.TempDir()
	pkg := filepath.Join(dir, "pkg")
	for name, content := range helloPackage {
		os.MkdirAll(filepath.Dir(filepath.Join(pkg, name)), 0o755)
		os.WriteFile(filepath.Join(pkg, name), []byte(content), 0o755)
	}
	app := filepath.Join(dir, "app")
	os.MkdirAll(filepath.Join(app, "vendor"), 0o755)
	run := func(in string, args ...string) {
		t.Helper()
		cmd := exec.Command(npm, args...)
		cmd.Dir = in
		cmd.Env = append(os.Environ(), "npm_config_cache="+filepath.Join(dir, ".npm"), "npm_config_update_notifier=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(pkg, "pack", "--pack-destination", filepath.Join(app, "vendor"))
	os.WriteFile(filepath.Join(app, "package.json"), []byte(`{"name": "app", "version": "1.0.0", "private": true,
  "dependencies": {"hello-server": "file:vendor/hello-server-1.0.0.tgz"}}`+"\n"), 0o644)
	run(app, "install", "--no-audit", "--no-fund", "--package-lock-only")
	files := map[string]string{}
	for _, name := range []string{"package.json", "package-lock.json", "vendor/hello-server-1.0.0.tgz"} {
		b, err := os.ReadFile(filepath.Join(app, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	return files
}

// TestNpmTreeDeploysWithItsBinLinks builds a Node app with `npm ci` and runs it through
// node_modules/.bin, whose entries are symlinks: the release keeps them, so the bin finds ../lib.
func TestNpmTreeDeploysWithItsBinLinks(t *testing.T) {
	listen := freeAddr(t)
	files := npmApp(t)
	files[".ferry.yaml"] = fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - name: install
        run: npm ci --no-audit --no-fund --offline --cache "$TMPDIR/npm"
        artifacts: [node_modules, package.json]
environments:
  - name: production
    service:
      run: exec node_modules/.bin/hello-server
      listen: "%s"
      health: {path: /healthz, interval: 100ms}
`, listen)
	repo := newRemote(t)
	repo.commit("main", "node app", files)
	f := startFerry(t)
	f.addProject("web", repo.URL, "--poll", "0")
	r := f.waitRun(f.trigger("web"))
	if r.State != "passed" {
		t.Fatalf("run: %s %s\n%s", r.State, r.Reason, f.mustCLI("logs", fmt.Sprint(r.ID)))
	}
	if ro := f.waitRollout("web", "production", r.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("rollout: %+v", ro)
	}
	if got, want := getBody(t, "http://"+listen+"/"), fmt.Sprintf("hello from release %d\n", r.ReleaseVersion); got != want {
		t.Errorf("the app answers %q, want %q", got, want)
	}
	link, err := os.Readlink(filepath.Join(f.data, "releases", "web", fmt.Sprint(r.ReleaseID), "node_modules", ".bin", "hello-server"))
	if err != nil || link != "../hello-server/bin/cli.js" {
		t.Errorf("the unpacked release's .bin/hello-server: %q, %v", link, err)
	}
}

// TestNodeStarterDeploys: `ferry init` on a Node app with a lockfile writes a pipeline whose first run passes
// and deploys the app with its production dependencies only, started with npm start.
func TestNodeStarterDeploys(t *testing.T) {
	listen := freeAddr(t)
	files := npmApp(t) // hello-server, from a tarball, as a dev dependency below
	files["package.json"] = `{"name": "app", "version": "1.0.0", "private": true,
  "scripts": {"start": "node server.js", "test": "node test.js"},
  "devDependencies": {"hello-server": "file:vendor/hello-server-1.0.0.tgz"}}` + "\n"
	files["server.js"] = `const http = require('http');
http.createServer((req, res) => res.end(req.url === '/healthz' ? 'ok' : 'hello from ' + process.env.FERRY_RELEASE))
  .listen(Number(process.env.PORT), '127.0.0.1');
`
	files["test.js"] = "require('hello-server/lib/greet'); console.log('ok')\n"
	dir := t.TempDir()
	for name, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	// The lockfile must match package.json: write it again for the dev dependency.
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--package-lock-only")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_cache="+filepath.Join(t.TempDir(), "npm"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install: %v\n%s", err, out)
	}
	if out, err := exec.Command(ferryBin, "init", dir).CombinedOutput(); err != nil {
		t.Fatalf("ferry init: %v\n%s", err, out)
	}
	pl, err := os.ReadFile(filepath.Join(dir, ".ferry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The one change a user makes: a free address for this test.
	files[".ferry.yaml"] = strings.Replace(string(pl), "listen: 127.0.0.1:8080", "listen: "+listen, 1)
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		files[name] = string(b)
	}
	repo := newRemote(t)
	repo.commit("main", "node app", files)
	f := startFerry(t)
	f.addProject("web", repo.URL, "--poll", "0")
	r := f.waitRun(f.trigger("web"))
	if r.State != "passed" {
		t.Fatalf("run: %s %s\n%s\n%s", r.State, r.Reason, files[".ferry.yaml"], f.mustCLI("logs", fmt.Sprint(r.ID)))
	}
	if ro := f.waitRollout("web", "production", r.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("rollout: %+v\n%s", ro, files[".ferry.yaml"])
	}
	if got, want := getBody(t, "http://"+listen+"/"), fmt.Sprint("hello from ", r.ReleaseID); got != want {
		t.Errorf("the app answers %q, want %q", got, want)
	}
	rel := filepath.Join(f.data, "releases", "web", fmt.Sprint(r.ReleaseID))
	if _, err := os.Stat(filepath.Join(rel, "node_modules", "hello-server")); err == nil {
		t.Error("the release holds a dev dependency")
	}
	if _, err := os.Stat(filepath.Join(rel, "server.js")); err != nil {
		t.Errorf("the release lacks server.js: %v", err)
	}
}
