package pipeline

import (
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	// namePattern is the rule for stage, step and environment names: they appear in URLs and paths.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	// varPattern is the rule for env and secret names: they become shell variables.
	varPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// reservedPrefix starts the variables ferry sets itself (FERRY_METRICS...); a pipeline cannot set them.
const reservedPrefix = "FERRY_"

// name reads the required "name" of the stage, step or environment n (kind), or returns "" after reporting
// a problem. example is a good name for the hint.
func (p *parser) name(m map[string]field, n *yaml.Node, kind, example string) string {
	f, ok := m["name"]
	if !ok {
		p.errorf(n, "%s has no \"name\"; add one, like name: %s", kind, example)
		return ""
	}
	s, ok := p.text(f.Val, `"name"`)
	at := resolve(f.Val)
	switch {
	case !ok:
	case s == "":
		p.errorf(at, "%s name is empty; give it one, like %s", kind, example)
	case !namePattern.MatchString(s):
		p.errorf(at, `invalid %s name %q: use letters, digits, "_", "." and "-", starting with a letter or digit`, kind, s)
	default:
		return s
	}
	return ""
}

// unique reports name, of the kind what, if first already holds it; otherwise it records where name is.
// Empty names were reported already and are skipped.
func (p *parser) unique(first map[string]*yaml.Node, name string, at *yaml.Node, what string) {
	if name == "" {
		return
	}
	if prev, ok := first[name]; ok {
		p.errorf(at, "duplicate %s %q (first at line %d); rename one", what, name, prev.Line)
		return
	}
	first[name] = at
}

// variable reports name, an env or secret name (kind), unless it is a shell identifier that is not reserved.
func (p *parser) variable(at *yaml.Node, kind, name string) bool {
	switch {
	case !varPattern.MatchString(name):
		p.errorf(at, `invalid %s name %q: use letters, digits and "_", not starting with a digit`, kind, name)
	case strings.HasPrefix(name, reservedPrefix):
		p.errorf(at, "%s name %q is reserved: ferry sets the %s* variables itself; rename it", kind, name, reservedPrefix)
	default:
		return true
	}
	return false
}

// env reads an env mapping of variable names to scalar values. Numbers and booleans keep their spelling;
// null is refused, since a missing value is more often a mistake than a wish for "". reserved maps the
// names ferry sets itself in this place, beyond the FERRY_ ones, to what sets them.
func (p *parser) env(n *yaml.Node, reserved map[string]string) map[string]string {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, `"env" must be a mapping of NAME: value, not %s`, describe(n))
		return nil
	}
	env := map[string]string{}
	for _, f := range p.Fields(n, "env", "key") {
		name, v := f.Key.Value, resolve(f.Val)
		ok := p.variable(f.Key, "env", name)
		if by, taken := reserved[name]; ok && taken {
			p.errorf(f.Key, "env name %q is reserved: %s; rename it", name, by)
			ok = false
		}
		switch {
		case v.Kind != yaml.ScalarNode:
			p.errorf(v, "env %s must be a string, not %s", name, describe(v))
		case isNull(v):
			p.errorf(v, `env %s has no value; write %s: "" for an empty one`, name, name)
		case ok:
			env[name] = v.Value
		}
	}
	return env
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
