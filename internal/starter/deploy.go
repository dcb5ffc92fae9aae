package starter

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// service is the environment a starter deploys to: what a passed run's release runs.
type service struct {
	// run starts one instance from the unpacked release; "" writes the section commented out, with why.
	run     string
	comment string // above the environments section
	// health is the path ferry probes; healthFound says the repository's code names it.
	health      string
	healthFound bool
	// portFound says the code reads PORT, the port ferry gives each instance.
	portFound bool
	why       string // when run is "": why ferry init could not tell how to start the app
}

// starterListen is where the starter's environment serves: this machine only, a port few apps take.
const starterListen = "127.0.0.1:8080"

// healthPaths are the health routes a starter looks for in the code, best first.
var healthPaths = []string{"/healthz", "/health", "/livez", "/readyz", "/ping", "/status"}

// findHealth returns the first of healthPaths that a source file under fsys names as a quoted string, and
// whether one does; "/" otherwise.
func findHealth(fsys fs.FS, exts ...string) (string, bool) {
	found := map[string]bool{}
	walkSources(fsys, exts, func(src []byte) {
		for _, p := range healthPaths {
			for _, q := range []string{`"`, `'`, "`"} {
				if bytes.Contains(src, []byte(q+p+q)) {
					found[p] = true
				}
			}
		}
	})
	for _, p := range healthPaths {
		if found[p] {
			return p, true
		}
	}
	return "/", false
}

// readsPort reports whether a source file reads the environment variable PORT as pattern matches it.
func readsPort(fsys fs.FS, pattern *regexp.Regexp, exts ...string) bool {
	found := false
	walkSources(fsys, exts, func(src []byte) { found = found || pattern.Match(src) })
	return found
}

// walkSources calls f with the content of every file with one of exts, skipping dependencies, hidden folders
// and tests' fixtures, at most 2000 files of 1 MiB.
func walkSources(fsys fs.FS, exts []string, f func([]byte)) {
	if fsys == nil {
		return
	}
	n := 0
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "vendor" || name == "testdata" ||
				name == "dist" || name == "build" || name == "__pycache__") {
				return fs.SkipDir
			}
			return nil
		}
		if n >= 2000 || !hasExt(name, exts) {
			return nil
		}
		n++
		if info, err := d.Info(); err == nil && info.Size() <= 1<<20 {
			f(readFile(fsys, p))
		}
		return nil
	})
}

func hasExt(name string, exts []string) bool {
	for _, e := range exts {
		if path.Ext(name) == e {
			return true
		}
	}
	return false
}

// render writes the environments section: one environment, production, on the local target.
func (s *service) render(b *bytes.Buffer) {
	b.WriteString("\n")
	writeComment(b, "", "environments: where a passed run's release runs. The release is what the steps kept as artifacts,\n"+
		"unpacked read-only; ferry starts `run` in it for each instance, with PORT set to the instance's own\n"+
		"port, checks `health` until it answers 2xx or 3xx, then sends the traffic of `listen` to it.\n"+
		"Later: a staging environment before this one (after: staging), a canary strategy, analysis checks\n"+
		"(docs/pipeline.md).")
	if s.comment != "" {
		writeComment(b, "", s.comment)
	}
	if s.run == "" {
		writeComment(b, "", "ferry init could not tell how to start this app: "+s.why+"\n"+
			"Uncomment and fill in the environment to deploy each passed run.")
		b.WriteString("# environments:\n#   - name: production\n#     service:\n#       run: ./dist/app\n")
		fmt.Fprintf(b, "#       listen: %s\n#       health: {path: /healthz}\n", starterListen)
		return
	}
	b.WriteString("environments:\n  - name: production\n    service:\n")
	writeRun(b, "      ", s.run)
	if !s.portFound {
		writeComment(b, "      ", "The app must listen on 127.0.0.1 at the port in the environment variable PORT.")
	}
	fmt.Fprintf(b, "      listen: %s\n", starterListen)
	if !s.healthFound {
		writeComment(b, "      ", "PLACEHOLDER: ferry found no health route in the code, so it probes /, which must answer 2xx or 3xx.\n"+
			"Add a route that answers 200 once the app can serve (GET /healthz) and name it here.")
	}
	fmt.Fprintf(b, "      health: {path: %s}\n", s.health)
	b.WriteString("    # Project secrets (ferry secret set PROJECT NAME) the app gets as variables, never written in this file:\n" +
		"    # secrets: [DATABASE_URL]\n")
}
