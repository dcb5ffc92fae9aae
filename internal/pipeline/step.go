package pipeline

import (
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
)

var stepKeys = []string{"name", "run", "artifacts", "timeout", "retries", "env", "secrets", "gates", "cases", "images"}

// maxRetries bounds retries: a step that fails more often than this is broken, not flaky.
const maxRetries = 10

// step reads the fields m of the step mapping n.
func (p *parser) step(n *yaml.Node, m map[string]field) Step {
	s := Step{Name: p.name(m, n, "step", "compile"), Pos: pos(n)}
	if f, ok := m["run"]; !ok {
		p.errorf(n, `%s has no "run"; add the shell script to run`, label("step", s.Name))
	} else if run, ok := p.text(f.Val, `"run"`); ok && strings.TrimSpace(run) == "" {
		p.errorf(resolve(f.Val), `"run" is empty; give the shell script to run`)
	} else {
		s.Run = run
	}
	if f, ok := m["artifacts"]; ok {
		s.Artifacts = p.artifacts(f.Val)
	}
	if f, ok := m["timeout"]; ok {
		s.Timeout, _ = p.duration(f.Val, `"timeout"`, positive)
	}
	if f, ok := m["retries"]; ok {
		s.Retries, _ = p.integer(f.Val, `"retries"`, 0, maxRetries)
	}
	if f, ok := m["env"]; ok {
		s.Env = p.env(f.Val, nil)
	}
	if f, ok := m["secrets"]; ok {
		s.Secrets = p.secrets(f.Val)
	}
	if f, ok := m["gates"]; ok {
		s.Gates = p.gates(f.Val)
	}
	if f, ok := m["cases"]; ok {
		s.Cases = p.cases(f.Val)
	}
	if f, ok := m["images"]; ok {
		s.Images = p.images(f.Val, s.Name)
	}
	return s
}

// artifacts reads paths relative to the checkout. They are checked here, not only when collected, so that
// a path escaping the checkout fails before any step runs.
func (p *parser) artifacts(n *yaml.Node) []string {
	items, _ := p.Sequence(n, `"artifacts"`)
	var paths []string
	for _, item := range items {
		s, ok := p.text(item, "each artifact")
		at := resolve(item)
		switch {
		case !ok:
		case s == "":
			p.errorf(at, "artifact path is empty; give a path relative to the checkout, like dist/app")
		case path.IsAbs(s):
			p.errorf(at, "artifact %q is an absolute path; give a path relative to the checkout", s)
		case escapes(s):
			p.errorf(at, `artifact %q has a ".." element; give a path inside the checkout`, s)
		default:
			paths = append(paths, s)
		}
	}
	return paths
}

// escapes says whether a relative path has a ".." element, with either slash as the separator.
func escapes(s string) bool {
	for _, elem := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' }) {
		if elem == ".." {
			return true
		}
	}
	return false
}

// secrets reads the names of project secrets given to a step as variables.
func (p *parser) secrets(n *yaml.Node) []string { return p.secretNames(n, nil) }

// secretNames reads a list of project secret names; refuse, when set, reports a name it does not allow and
// says so, and that name is left out.
func (p *parser) secretNames(n *yaml.Node, refuse func(name string, at *yaml.Node) bool) []string {
	items, _ := p.Sequence(n, `"secrets"`)
	var names []string
	first := map[string]*yaml.Node{}
	for _, item := range items {
		s, ok := p.text(item, "each secret")
		at := resolve(item)
		if !ok || !p.variable(at, "secret", s) {
			continue
		}
		if prev, dup := first[s]; dup {
			p.errorf(at, "duplicate secret %q (first at line %d); remove one", s, prev.Line)
			continue
		}
		first[s] = at
		if refuse != nil && refuse(s, at) {
			continue
		}
		names = append(names, s)
	}
	return names
}
