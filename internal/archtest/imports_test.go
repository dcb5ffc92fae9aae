package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ferry-cd/ferry"

// none is the allowed list of a package that imports nothing of ferry's: `only: none`.
var none = []string{}

// rule is one row of the import rules. Package paths are relative to the module ("internal/engine"); a path
// in notDep or only covers its sub-packages too ("internal/store" covers internal/store/sqlite).
type rule struct {
	pkg    string   // the package the row is about; "..." is every package of the module
	except []string // with "...": the packages the row leaves out
	notDep []string // it must not depend on these, directly or through any chain of imports
	only   []string // when not nil: the only ferry packages it may import directly (their own rows govern theirs)
	pure   bool     // it imports no I/O package of the standard library (see ioPackages)
	why    string   // where the rule is written down, so a failure says why it holds
}

// rules are ferry's import rules. Each comes from a package comment (file named in why) or from the rooms of
// the design (DESIGN.md, "Architecture").
//
// Not a row yet, because today's code cannot hold it:
//   - cli "must not reach into the store directly" (cli/root.go): serve, exec and demo open the store in
//     process, so the package must import it; the rule is about the client commands, one file each, which a
//     package-level check cannot tell apart.
var rules = []rule{
	// The top of the map: only the main runs the command line, only the command line wires the server.
	{pkg: "...", except: []string{"cmd/ferry"}, notDep: []string{"internal/cli"},
		why: "cmd/ferry is the thin main → internal/cli (DESIGN.md)"},
	{pkg: "...", except: []string{"cmd/ferry", "internal/cli", "internal/controlplane"}, notDep: []string{"internal/server"},
		why: `server/server.go: "nothing below it imports it"; controlplane builds it`},
	{pkg: "internal/controlplane", notDep: []string{"internal/cli", "internal/ui"},
		why: `controlplane/controlplane.go: "It must not import cli or ui."`},

	// Pure packages: they read the bytes they are given.
	{pkg: "internal/gate", pure: true, only: none, why: `gate/gate.go: "It is pure: it imports no I/O package"`},
	{pkg: "internal/dora", pure: true, only: none, why: `dora/dora.go: "It is pure: it imports no I/O package (no os, net or store)"`},
	{pkg: "internal/evals", pure: true, only: []string{"internal/gate"},
		why: `evals/case.go: "It is pure: it reads the bytes it is given and imports no I/O package."`},
	{pkg: "internal/yamlfile", pure: true, only: none, why: "docs/architecture.md marks yamlfile pure"},
	{pkg: "internal/hostname", pure: true, only: none, why: `hostname/hostname.go: "It is pure: it imports no I/O package and nothing of ferry's."`},
	{pkg: "internal/flags", pure: true, only: []string{"internal/yamlfile"},
		why: `flags/doc.go: "The package is pure: it reads the bytes it is given and imports no I/O package"`},
	{pkg: "internal/pipeline", pure: true, only: []string{"internal/evals", "internal/flags", "internal/gate", "internal/yamlfile", "internal/hostname"},
		why: `pipeline/pipeline.go: "It is pure: it reads bytes it is given and imports no I/O package"`},
	{pkg: "internal/ui/chart", pure: true, only: none,
		why: `ui/chart/chart.go: "it imports no ferry package, reads no clock and does no I/O"`},

	// Leaves that everyone may use.
	{pkg: "internal/untrusted", only: none, why: `untrusted/untrusted.go: "It imports nothing of ferry's"`},
	{pkg: "internal/sandbox", only: none, why: `sandbox/sandbox.go: "It imports nothing of ferry."`},
	{pkg: "internal/ofrep", only: []string{"internal/flags"},
		why: `ofrep/ofrep.go: "it imports internal/flags and the standard library only, never the server"`},
	{pkg: "internal/analysis/promtest", only: none, why: `analysis/promtest/promtest.go: "It imports nothing of ferry's."`},
	{pkg: "internal/k8s/k8stest", only: none, why: `k8s/k8stest/doc.go: "The package imports nothing of ferry's."`},
	{pkg: "internal/edge/acme", only: none, why: `edge/acme/doc.go: "imports nothing of ferry's"`},
	{pkg: "internal/edge/acme/pebbletest", only: none, why: `edge/acme/pebbletest/pebbletest.go: "It imports nothing of ferry's."`},
	{pkg: "internal/demoapp", only: none, why: "demoapp/demoapp.go: the example repository imports nothing of ferry's"},

	// Records.
	{pkg: "internal/store", only: []string{"internal/evals", "internal/gate"}, notDep: []string{"internal/server", "internal/engine"},
		why: `store/store.go: "It must not import server, engine or any package that acts on the records."`},
	{pkg: "internal/store/sqlite", only: []string{"internal/store", "internal/evals", "internal/gate"},
		why: `store/sqlite/sqlite.go: "It imports store and the records store keeps, and nothing that acts on them."`},

	// The control plane's parts below the server.
	{pkg: "internal/engine", notDep: []string{"internal/server", "internal/cli"},
		why: `engine/engine.go: "It must not import server or cli."`},
	{pkg: "internal/notify", notDep: []string{"internal/server", "internal/cli"},
		why: `notify/notify.go: "It must not import server or cli."`},
	{pkg: "internal/rollout", notDep: []string{"internal/server", "internal/cli"},
		why: `rollout/state.go: "must not import server or cli"`},

	// Targets: where releases run. The rollout controller, the server and the dashboard know the interface
	// (internal/deploy), never an implementation; only the control plane's wiring picks one.
	{pkg: "internal/deploy", only: []string{"internal/store", "internal/pipeline"},
		notDep: []string{"internal/deploy/local", "internal/deploy/kubernetes", "internal/dataplane", "internal/rollout", "internal/server"},
		why:    `deploy/deploy.go: "It must not import rollout, server, cli, ui or any implementation."`},
	{pkg: "internal/deploy/kubernetes", notDep: []string{"internal/rollout", "internal/server", "internal/cli", "internal/ui",
		"internal/dataplane", "internal/deploy/local"},
		why: `deploy/kubernetes/target.go: "It must not import rollout, server, cli or ui."`},
	{pkg: "internal/deploy/local", notDep: []string{"internal/rollout", "internal/server", "internal/cli", "internal/ui"},
		why: `deploy/local/local.go: "It must not import rollout, server, cli or ui."`},
	{pkg: "internal/rollout", notDep: []string{"internal/deploy/local", "internal/deploy/kubernetes", "internal/dataplane"},
		why: `DESIGN.md: "the rollout controller, server and UI never import a target implementation, only the interface"`},
	{pkg: "internal/server", notDep: []string{"internal/deploy/local", "internal/deploy/kubernetes", "internal/dataplane"},
		why: `DESIGN.md: "the rollout controller, server and UI never import a target implementation, only the interface"`},
	{pkg: "internal/analysis", notDep: []string{"internal/rollout", "internal/server", "internal/store"},
		why: `analysis/analysis.go: "It must not import rollout, server or store."`},

	// The data plane keeps serving while the control plane is gone, so it cannot depend on it.
	{pkg: "internal/retention", notDep: []string{"internal/server", "internal/cli", "internal/ui", "internal/rollout", "internal/dataplane"},
		why: `retention/retention.go: "It must not import server, cli, ui, rollout or dataplane"`},
	{pkg: "internal/dataplane", notDep: []string{"internal/server", "internal/rollout", "internal/store", "internal/deploy"},
		why: `dataplane/state.go: "It must not import the control plane (server, rollout, store, deploy)."`},
	{pkg: "internal/proxy", notDep: []string{"internal/server", "internal/rollout", "internal/store"},
		why: `proxy/proxy.go: "It must not import the control plane (server, rollout, store)."`},

	// The rooms issue 14 cuts out of the server.
	{pkg: "internal/api", only: none,
		why: "issue 14: the wire types import nothing of ferry's internals (DESIGN.md: internal/api)"},
	{pkg: "internal/ui", notDep: []string{"internal/server", "internal/engine", "internal/rollout", "internal/dataplane",
		"internal/store", "internal/deploy", "internal/analysis", "internal/proxy", "internal/runs", "internal/flagruntime"},
		why: "issue 14: the dashboard is a client of the API and depends on internal/api, not on the control plane"},
	{pkg: "internal/runs", notDep: []string{"internal/server", "internal/cli", "internal/ui", "internal/deploy/kubernetes"},
		why: "issue 14: the run lifecycle is used by serve and exec, and by runners later; it knows no HTTP or terminal"},
	{pkg: "internal/flagruntime", notDep: []string{"internal/server", "internal/cli", "internal/ui"},
		why: "issue 14: the flag runtime is a collaborator the server is given"},
	{pkg: "internal/secret", notDep: []string{"internal/server", "internal/cli", "internal/ui"},
		why: "issue 14: secret sealing is a collaborator the server is given"},
}

// ioPackages are the standard library's packages that reach outside the process (files, network, processes,
// the kernel, the log), each with its sub-packages; a pure package imports none of them. net/netip and net/url
// only parse addresses and are allowed.
var ioPackages = []string{"os", "net", "syscall", "io/ioutil", "path/filepath", "database/sql", "log", "crypto/rand", "plugin"}

var ioAllowed = []string{"net/netip", "net/url"}

func TestImportRules(t *testing.T) {
	pkgs := goList(t)
	for _, v := range check(rules, pkgs) {
		t.Error(v)
	}
}

// TestCheckerCatchesViolations runs the checker on rules that today's code is known to break, so that a
// checker which silently passes everything cannot go unnoticed.
func TestCheckerCatchesViolations(t *testing.T) {
	pkgs := goList(t)
	tests := []struct {
		name string
		rule rule
		want []string // parts of the one violation the rule must produce
	}{
		{"direct import", rule{pkg: "internal/controlplane", notDep: []string{"internal/server"}, why: "synthetic"},
			[]string{"internal/controlplane must not depend on internal/server", "internal/controlplane → internal/server", "(synthetic)"}},
		{"chain of imports", rule{pkg: "cmd/ferry", notDep: []string{"internal/store"}, why: "synthetic"},
			[]string{"cmd/ferry must not depend on internal/store", "cmd/ferry → internal/cli → internal/store"}},
		{"sub-package", rule{pkg: "internal/ui", notDep: []string{"internal/ui"}, why: "synthetic"},
			[]string{"internal/ui must not depend on internal/ui: internal/ui → internal/ui/chart"}},
		{"I/O in a pure package", rule{pkg: "internal/sandbox", pure: true, why: "synthetic"},
			[]string{"internal/sandbox imports os, an I/O package; it must be pure"}},
		{"import outside the allowed list", rule{pkg: "internal/artifact", only: none, why: "synthetic"},
			[]string{"internal/artifact imports internal/store; of ferry it may import nothing"}},
		{"pattern", rule{pkg: "...", except: []string{"internal/cli", "internal/controlplane"}, notDep: []string{"internal/server"}, why: "synthetic"},
			[]string{"cmd/ferry must not depend on internal/server", "cmd/ferry → internal/cli → internal/controlplane → internal/server"}},
		{"missing package", rule{pkg: "internal/nosuchpackage", notDep: []string{"internal/server"}, why: "synthetic"},
			[]string{"internal/nosuchpackage: no such package"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check([]rule{tt.rule}, pkgs)
			if len(got) == 0 {
				t.Fatalf("no violation; want one containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, w) }) {
					t.Errorf("no violation contains %q; got:\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}

// listed is what the checker reads of `go list -json`.
type listed struct {
	ImportPath string
	Standard   bool
	Imports    []string
}

// goList lists the module's packages and everything they depend on. Test files are left out: the rules are
// about what ferry's binaries are made of.
func goList(t *testing.T) map[string]*listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Imports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	pkgs := map[string]*listed{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs[p.ImportPath] = &p
	}
	return pkgs
}

// check returns one readable sentence per broken rule: the package, what it must not import, and the chain of
// imports (each package's direct import) that brings the forbidden package in.
func check(rules []rule, pkgs map[string]*listed) []string {
	var ours []string // module-relative paths of the module's packages
	for path := range pkgs {
		if rel, ok := relative(path); ok {
			ours = append(ours, rel)
		}
	}
	slices.Sort(ours)
	exists := func(rel string) bool { return slices.Contains(ours, rel) }

	var out []string
	for _, r := range rules {
		targets := []string{r.pkg}
		if r.pkg == "..." {
			targets = slices.DeleteFunc(slices.Clone(ours), func(p string) bool { return slices.Contains(r.except, p) })
		} else if !exists(r.pkg) {
			out = append(out, fmt.Sprintf("%s: no such package; fix or remove its row (%s)", r.pkg, r.why))
			continue
		}
		for _, pkg := range targets {
			out = append(out, checkOne(r, pkg, pkgs)...)
		}
	}
	return out
}

func checkOne(r rule, pkg string, pkgs map[string]*listed) []string {
	var out []string
	p := pkgs[module+"/"+pkg]
	for _, forbidden := range r.notDep {
		if chain := path(pkgs, pkg, forbidden); chain != nil {
			out = append(out, fmt.Sprintf("%s must not depend on %s: %s (%s)",
				pkg, forbidden, strings.Join(chain, " → "), r.why))
		}
	}
	for _, imp := range p.Imports {
		if r.pure && pkgs[imp] != nil && pkgs[imp].Standard && isIO(imp) {
			out = append(out, fmt.Sprintf("%s imports %s, an I/O package; it must be pure (%s)", pkg, imp, r.why))
		}
		rel, ours := relative(imp)
		if r.only != nil && ours && !slices.ContainsFunc(r.only, func(a string) bool { return within(rel, a) }) {
			allowed := "nothing"
			if len(r.only) > 0 {
				allowed = "only " + strings.Join(r.only, ", ")
			}
			out = append(out, fmt.Sprintf("%s imports %s; of ferry it may import %s (%s)", pkg, rel, allowed, r.why))
		}
	}
	return out
}

// path is the shortest chain of imports from the package from to a package within to, both module-relative,
// or nil if from does not depend on it.
func path(pkgs map[string]*listed, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		p := pkgs[module+"/"+cur]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			rel, ours := relative(imp)
			if !ours { // packages outside the module cannot import ferry's internal packages
				continue
			}
			if _, seen := prev[rel]; seen {
				continue
			}
			prev[rel] = cur
			if within(rel, to) {
				var chain []string
				for at := rel; at != ""; at = prev[at] {
					chain = append(chain, at)
				}
				slices.Reverse(chain)
				return chain
			}
			queue = append(queue, rel)
		}
	}
	return nil
}

// relative is an import path without the module's prefix, and whether it is the module's.
func relative(importPath string) (string, bool) {
	return strings.CutPrefix(importPath, module+"/")
}

// within reports whether pkg is dir or one of its sub-packages.
func within(pkg, dir string) bool {
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

func isIO(std string) bool {
	if slices.Contains(ioAllowed, std) {
		return false
	}
	return slices.ContainsFunc(ioPackages, func(io string) bool { return within(std, io) })
}
