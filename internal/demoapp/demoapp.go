// Package demoapp holds ferry's example repository once: the sample service (repo/app, a small Go web app whose
// mode.txt makes it misbehave on purpose), the pipeline that builds, tests, gates and deploys it as a canary
// (repo/.ferry.yaml), its feature flag and its unit test. `ferry demo` commits it; the end-to-end tests and the
// benchmarks deploy the same service with pipelines of their own (App).
//
// The files are embedded in the binary as they are in repo/, so they read as a repository does; repo/app is
// also a package of ferry's module, so `go build ./...` and `go vet ./...` check the service. It imports
// nothing of ferry's.
package demoapp

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

//go:embed all:repo
var repo embed.FS

// BrokenUnitTest is test/unit.sh of the demo's second commit: it checks a wrong sum, so the unit step fails
// and nothing deploys.
//
//go:embed commits/broken-unit.sh
var BrokenUnitTest string

// ListenInFile is the production environment's address as repo/.ferry.yaml writes it; Repo replaces it.
const ListenInFile = "127.0.0.1:8080"

// goMod is the repository's go.mod. It is not a file in repo/: a go.mod there would make repo/ a module of its
// own, which Go neither embeds nor builds with ferry's.
const goMod = "module example.com/app\n\ngo 1.22\n"

// Repo is the example repository at the demo's first commit, by slash-separated path, with its production
// environment listening on listen.
func Repo(listen string) map[string]string {
	files := map[string]string{"go.mod": goMod}
	err := fs.WalkDir(repo, "repo", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := repo.ReadFile(name)
		files[strings.TrimPrefix(name, "repo/")] = string(data)
		return err
	})
	if err != nil { // the files are embedded: only a broken build gets here
		panic("demoapp: " + err.Error())
	}
	files[".ferry.yaml"] = strings.Replace(files[".ferry.yaml"], ListenInFile, listen, 1)
	return files
}

// App is the sample service alone, for a repository with a pipeline of its own: app/main.go and go.mod, and
// version.txt and mode.txt holding the version it answers with and how it behaves (ok, sick, fail, broken or
// slow; see app/main.go). A pipeline builds it with
//
//	mkdir -p dist && CGO_ENABLED=0 go build -o dist/app ./app && cp version.txt mode.txt dist/
//
// and runs it with `cd dist && exec ./app`.
func App(version, mode string) map[string]string {
	all := Repo(ListenInFile)
	files := map[string]string{"go.mod": goMod, "version.txt": version + "\n", "mode.txt": mode + "\n"}
	for name, content := range all {
		if path.Dir(name) == "app" {
			files[name] = content
		}
	}
	return files
}
