package pipeline

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// parser reads the YAML nodes of one file and collects every problem it finds.
type parser struct {
	file string
	errs ErrorList
	// seen holds the problems already reported: a node behind an anchor is read once per alias to it.
	seen map[Error]bool
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	e := Error{File: p.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)}
	if p.seen[e] {
		return
	}
	p.seen[e] = true
	p.errs = append(p.errs, &e)
}

// field is one key of a mapping and its value.
type field struct{ key, val *yaml.Node }

// resolve follows an alias to the node its anchor names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mapping reads n as the mapping named what ("step") and returns its fields by key. It reports keys not in
// known, with a suggestion; nil known accepts any key. It returns nil after reporting n if n is no mapping.
func (p *parser) mapping(n *yaml.Node, what string, known []string) map[string]field {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "each %s must be a mapping, not %s", what, describe(n))
		return nil
	}
	m := map[string]field{}
	for _, f := range p.fields(n, what) {
		if known != nil && !slices.Contains(known, f.key.Value) {
			p.errorf(f.key, "unknown key %q in %s%s", f.key.Value, what, suggest(f.key.Value, known))
			continue
		}
		m[f.key.Value] = f
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
		return cmp.Or(cmp.Compare(a.key.Line, b.key.Line), cmp.Compare(a.key.Column, b.key.Column))
	})
	return fields
}

// fields returns the fields of mapping n in order, with merge keys ("<<: *defaults") expanded: a key written
// in n wins over a merged one, and an earlier merged mapping over a later one. It reports duplicate keys.
func (p *parser) fields(n *yaml.Node, what string) []field {
	var fields, merged []field
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			p.errorf(k, "keys in %s must be plain names, not %s", what, describe(k))
		case k.ShortTag() == "!!merge":
			merged = append(merged, p.merge(v, what)...)
		case first[k.Value] != nil:
			p.errorf(k, "duplicate key %q in %s (first at line %d); remove one", k.Value, what, first[k.Value].Line)
		default:
			first[k.Value] = k
			fields = append(fields, field{k, v})
		}
	}
	for _, f := range merged {
		if first[f.key.Value] == nil {
			first[f.key.Value] = f.key
			fields = append(fields, f)
		}
	}
	return fields
}

func (p *parser) merge(v *yaml.Node, what string) []field {
	v = resolve(v)
	var fields []field
	switch v.Kind {
	case yaml.MappingNode:
		return p.fields(v, what)
	case yaml.SequenceNode:
		for _, item := range v.Content {
			if m := resolve(item); m.Kind == yaml.MappingNode {
				fields = append(fields, p.fields(m, what)...)
			} else {
				p.errorf(m, `"<<" must merge mappings, not %s`, describe(m))
			}
		}
	default:
		p.errorf(v, `"<<" must merge a mapping or a list of mappings, not %s`, describe(v))
	}
	return fields
}

// list reads n as a list of the thing named what; null is an empty list. ok is false after reporting n.
func (p *parser) list(n *yaml.Node, what string) (items []*yaml.Node, ok bool) {
	n = resolve(n)
	switch {
	case n.Kind == yaml.SequenceNode:
		return n.Content, true
	case isNull(n):
		return nil, true
	}
	p.errorf(n, "%s must be a list, not %s", what, describe(n))
	return nil, false
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

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node is for "must be X, not Y" messages: a scalar as written, quoted if a string.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "empty"
	}
	s := n.Value
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "..."
	}
	if n.ShortTag() == "!!str" || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}

// checkAliases reports an anchor that contains an alias to itself, and aliases that expand the document to
// far more nodes than it holds (a "billion laughs"), before anything walks the tree.
func (p *parser) checkAliases(doc *yaml.Node) bool {
	const most = 1 << 40 // keeps the sums from overflowing
	size := map[*yaml.Node]int{}
	cyclic := false
	var count func(n *yaml.Node) int
	count = func(n *yaml.Node) int {
		if s, ok := size[n]; ok {
			return s
		}
		size[n] = 0 // while counting: an alias back to n ends here
		total := 1
		if n.Kind == yaml.AliasNode {
			if s, seen := size[n.Alias]; seen && s == 0 {
				p.errorf(n, "alias *%s is inside its own anchor &%s; an anchor cannot contain itself", n.Value, n.Value)
				cyclic = true
			} else {
				total += count(n.Alias)
			}
		}
		for _, c := range n.Content {
			total = min(total+count(c), most)
		}
		size[n] = total
		return total
	}
	if count(doc); cyclic {
		return false
	}
	if limit := max(100_000, 4*len(size)); size[doc] > limit {
		p.errorf(doc, "aliases expand the file to more than %d nodes; use fewer aliases", limit)
		return false
	}
	return true
}

// syntax reports a YAML syntax error. yaml.v3 says "yaml: line N: msg" but leaves the line out on the first
// line and for errors it finds while reading bytes or resolving aliases; those are located in data.
func (p *parser) syntax(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line, col := 1, 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, rest, _ := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); err == nil {
			line, msg = n, rest
		}
	} else if off := locate(data, msg); off >= 0 {
		line, col = position(data, off)
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Col: col, Msg: "invalid YAML: " + msg})
}

// locate finds the byte offset of the problem behind a yaml.v3 error that has no line, or returns -1.
func locate(data []byte, msg string) int {
	switch {
	case strings.HasPrefix(msg, "unknown anchor '"):
		name, _, _ := strings.Cut(strings.TrimPrefix(msg, "unknown anchor '"), "'")
		return bytes.Index(data, []byte("*"+name))
	case strings.Contains(msg, "UTF-8"):
		for off := 0; off < len(data); {
			r, size := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && size == 1 {
				return off
			}
			off += size
		}
	case strings.Contains(msg, "control characters"):
		return bytes.IndexFunc(data, func(r rune) bool { return !printable(r) })
	}
	return -1
}

// printable is YAML's set of characters allowed in a stream.
func printable(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0x7e) || r == 0x85 ||
		(r >= 0xa0 && r <= 0xd7ff) || (r >= 0xe000 && r <= 0xfffd) || (r >= 0x10000 && r <= utf8.MaxRune)
}

// position turns a byte offset in data into a 1-based line and column counted in characters.
func position(data []byte, off int) (line, col int) {
	before := data[:off]
	line = 1 + strings.Count(string(before), "\n")
	if i := strings.LastIndexByte(string(before), '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, 1 + utf8.RuneCount(before)
}
