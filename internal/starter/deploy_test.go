package starter

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestStartersDeploy checks the environment each starter writes: how it starts the app, the health path it
// found (or the placeholder that says so), the lockfile's tool, the release's files, and an audit that
// blocks nothing.
func TestStartersDeploy(t *testing.T) {
	express := `const app = require('express')();
app.get('/health', (req, res) => res.send('ok'));
app.listen(process.env.PORT || 3000);
`
	tests := []struct {
		name      string
		kind      Kind
		fsys      fstest.MapFS
		run       string // the service's run; "" when the section is commented out
		health    string
		artifacts []string // of the last step
		install   string   // in the build stage's script
		absent    []string // in the whole file
		present   []string
	}{
		{name: "npm with start script", kind: Node, fsys: fstest.MapFS{
			"package.json":      file(`{"main": "app.js", "scripts": {"start": "node app.js", "test": "mocha"}, "devDependencies": {"mocha": "10"}}`),
			"package-lock.json": file("{}"), "app.js": file(express), "views/index.ejs": file("<p>hi</p>"), "test/app.test.js": file(""),
		}, run: `exec npm start --cache "$TMPDIR/npm"`, health: "/health", install: "npm ci",
			artifacts: []string{"app.js", "node_modules", "package.json", "views"},
			absent:    []string{"PLACEHOLDER: ferry found no health route", "must listen on 127.0.0.1 at the port"},
			present:   []string{"npm prune --omit=dev", "# Off by default: npm audit asks the registry's audit endpoint", "#         run: npm audit --audit-level=high"}},
		{name: "yarn without start script", kind: Node, fsys: fstest.MapFS{
			"package.json": file(`{"scripts": {"build": "tsc"}}`), "yarn.lock": file(""), "server.js": file("require('http')"),
		}, run: "exec node server.js", health: "/", install: "yarn install --frozen-lockfile && yarn run build",
			artifacts: []string{"dist", "node_modules", "package.json", "server.js"},
			present: []string{"PLACEHOLDER: ferry found no health route", "must listen on 127.0.0.1 at the port",
				"yarn install --frozen-lockfile --production", "# Off by default: yarn audit asks", "corepack enable yarn"}},
		{name: "pnpm", kind: Node, fsys: fstest.MapFS{
			"package.json": file(`{"scripts": {"start": "next start", "test": "vitest"}}`), "pnpm-lock.yaml": file(""),
		}, run: "exec pnpm start", health: "/", install: "pnpm install --frozen-lockfile",
			artifacts: []string{"node_modules", "package.json"}, present: []string{"pnpm prune --prod", "pnpm test"}},
		{name: "node without an entry point", kind: Node, fsys: fstest.MapFS{"package.json": file(`{}`)},
			present: []string{"# environments:", "no start script"}},
		{name: "go service", kind: Go, fsys: fstest.MapFS{
			"go.mod":  file("module example.com/shop\n"),
			"main.go": file("package main\n\nfunc main() { http.HandleFunc(\"/healthz\", nil); http.ListenAndServe(\":\"+os.Getenv(\"PORT\"), nil) }\n"),
		}, run: "exec ./dist/shop", health: "/healthz", install: "go build -o dist/shop .",
			absent: []string{"PLACEHOLDER: ferry found no health route", "must listen on 127.0.0.1"}},
		{name: "go library", kind: Go, fsys: fstest.MapFS{"go.mod": file("module example.com/lib\n"), "lib.go": file("package lib\n")},
			present: []string{"# environments:", "no main package"}},
		{name: "flask", kind: Python, fsys: fstest.MapFS{
			"requirements.txt": file("flask\n"), "app.py": file("import os\n@app.route('/ping')\napp.run(port=int(os.environ['PORT']))\n"),
			"templates/index.html": file(""),
		}, run: "PYTHONPATH=.deps exec python3 app.py", health: "/ping", install: "pip install pytest -r requirements.txt",
			artifacts: []string{".deps", "app.py", "templates"}, present: []string{"pip install --target .deps -r requirements.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := string(Pipeline(tt.kind, tt.fsys))
			p := parseStarter(t, tt.kind, tt.fsys)
			if tt.run == "" {
				if len(p.Environments) != 0 {
					t.Errorf("environments %+v; want the section commented out", p.Environments)
				}
			} else {
				if len(p.Environments) != 1 {
					t.Fatalf("environments %+v; want production\n%s", p.Environments, text)
				}
				svc := p.Environments[0].Service
				if svc.Run != tt.run || svc.Health.Path != tt.health || svc.Listen != starterListen {
					t.Errorf("service run %q health %q listen %q; want %q, %q, %q", svc.Run, svc.Health.Path, svc.Listen, tt.run, tt.health, starterListen)
				}
			}
			if tt.install != "" && !strings.Contains(p.Stages[0].Steps[0].Run, tt.install) {
				t.Errorf("build step runs %q; want %q in it", p.Stages[0].Steps[0].Run, tt.install)
			}
			if tt.artifacts != nil {
				last := p.Stages[len(p.Stages)-1]
				if got := last.Steps[len(last.Steps)-1].Artifacts; strings.Join(got, " ") != strings.Join(tt.artifacts, " ") {
					t.Errorf("release artifacts %v; want %v", got, tt.artifacts)
				}
			}
			for _, s := range tt.present {
				if !strings.Contains(text, s) {
					t.Errorf("the file lacks %q:\n%s", s, text)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(text, s) {
					t.Errorf("the file has %q:\n%s", s, text)
				}
			}
		})
	}
}
