package pipeline

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-cd/ferry/internal/yamlfile"
)

// parser reads the YAML nodes of one file and collects every problem it finds.
type parser struct {
	yamlfile.Problems
	// imageSteps holds where each image of the pipeline's steps is declared, so that one is declared once.
	imageSteps map[string]imageStep
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) { p.At(n, format, args...) }

// The helpers this package shares with ferry's other YAML file parsers.
var (
	resolve  = yamlfile.Resolve
	isNull   = yamlfile.IsNull
	describe = yamlfile.Describe
	suggest  = yamlfile.Suggest
	closest  = yamlfile.Closest
)

// field is one key of a mapping and its value.
type field = yamlfile.Field

// mapping reads n as the mapping named what ("step") and returns its fields by key. It reports keys not in
// known, with a suggestion; nil known accepts any key. It returns nil after reporting n if n is no mapping.
func (p *parser) mapping(n *yaml.Node, what string, known []string) map[string]field {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "each %s must be a mapping, not %s", what, describe(n))
		return nil
	}
	m := map[string]field{}
	for _, f := range p.Fields(n, what, "key") {
		if known != nil && !slices.Contains(known, f.Key.Value) {
			p.errorf(f.Key, "unknown key %q in %s%s", f.Key.Value, what, suggest(f.Key.Value, known))
			continue
		}
		m[f.Key.Value] = f
	}
	return m
}

// present returns the fields of m whose keys are among keys, in the order they are written.
func present(m map[string]field, keys []string) []field {
	var fields []field
	for _, k := range keys {
		if f, ok := m[k]; ok {
			fields = append(fields, f)
		}
	}
	slices.SortFunc(fields, func(a, b field) int {
		return cmp.Or(cmp.Compare(a.Key.Line, b.Key.Line), cmp.Compare(a.Key.Column, b.Key.Column))
	})
	return fields
}

// text reads a scalar as written, so that numbers and booleans keep their spelling; null reads as "".
// what names the value in messages (`"run"`).
func (p *parser) text(n *yaml.Node, what string) (string, bool) {
	n = resolve(n)
	switch {
	case n.Kind != yaml.ScalarNode:
		p.errorf(n, "%s must be a string, not %s", what, describe(n))
		return "", false
	case isNull(n):
		return "", true
	}
	return n.Value, true
}

// number reads a finite int or float scalar. A quoted number is a string and is refused.
func (p *parser) number(n *yaml.Node, what string) (float64, bool) {
	n = resolve(n)
	var f float64
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil {
		hint := ""
		if _, err := strconv.ParseFloat(n.Value, 64); err == nil && n.ShortTag() == "!!str" {
			hint = " (remove the quotes)"
		}
		p.errorf(n, "%s must be a number, not %s%s", what, describe(n), hint)
		return 0, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		p.errorf(n, "%s must be a finite number, not %s", what, describe(n))
		return 0, false
	}
	return f, true
}

// integer reads an int scalar between lo and hi.
func (p *parser) integer(n *yaml.Node, what string, lo, hi int) (int, bool) {
	n = resolve(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil || i < lo || i > hi {
		p.errorf(n, "%s must be a whole number from %d to %d, not %s", what, lo, hi, describe(n))
		return 0, false
	}
	return i, true
}

// section reads the mapping under key (`service`) by its fields, checking them against known as mapping does.
// Null reads as an empty mapping, so that a section left empty takes its defaults. It returns nil after
// reporting n if n is neither.
func (p *parser) section(n *yaml.Node, key string, known []string) map[string]field {
	n = resolve(n)
	switch {
	case isNull(n):
		return map[string]field{}
	case n.Kind != yaml.MappingNode:
		p.errorf(n, "%q must be a mapping, not %s", key, describe(n))
		return nil
	}
	return p.mapping(n, key, known)
}

// positive is the least duration that is more than zero, for duration.
const positive = time.Nanosecond

// duration reads a Go duration ("90s", "1h30m") of at least least: 0 allows zero, positive asks for more.
// A bare 0 is zero, as in Go; any other bare number needs a unit, since "10" could mean seconds or minutes.
func (p *parser) duration(n *yaml.Node, what string, least time.Duration) (time.Duration, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || !slices.Contains([]string{"!!str", "!!int", "!!float"}, n.ShortTag()) {
		p.errorf(n, `%s must be a duration like "10m", not %s`, what, describe(n))
		return 0, false
	}
	if n.ShortTag() != "!!str" && n.Value != "0" {
		p.errorf(n, `%s %s has no unit; write %q or %q`, what, n.Value, n.Value+"s", n.Value+"m")
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		p.errorf(n, `invalid %s %q: write a duration like "90s", "10m" or "1h30m"`, what, n.Value)
	case d >= least:
		return d, true
	case least == 0:
		p.errorf(n, "%s must not be negative, not %q", what, n.Value)
	case least == positive:
		p.errorf(n, "%s must be more than zero, not %q", what, n.Value)
	default:
		p.errorf(n, "%s must be at least %v, not %q", what, least, n.Value)
	}
	return 0, false
}

// boolean reads true or false.
func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	n = resolve(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		p.errorf(n, "%s must be true or false, not %s", what, describe(n))
		return false, false
	}
	return b, true
}

// choice reads a string that must be one of options and returns its index, suggesting the closest option
// to a misspelt one.
func (p *parser) choice(n *yaml.Node, what string, options []string) (int, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if i := slices.Index(options, n.Value); i >= 0 {
			return i, true
		}
	}
	hint := ""
	if best := closest(n.Value, options); n.Kind == yaml.ScalarNode && best != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", best)
	}
	p.errorf(n, "%s must be %s, not %s%s", what, orList(options), describe(n), hint)
	return 0, false
}
