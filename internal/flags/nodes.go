package flags

import (
	"bytes"
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

// The helpers below read YAML nodes the way internal/pipeline does, with the same wording, so that a
// flags section in .ferry.yaml reads like the rest of the file. They are copied rather than shared
// because pipeline, which will parse that section through ParseNode, cannot be imported from here.

// parser reads the YAML nodes of one file and collects every problem it finds.
type parser struct {
	file string
	errs ErrorList
	// seen holds the problems already reported: a node behind an anchor is read once per alias to it.
	seen map[Error]bool
	// hinted holds the keys that an unknown key of a mapping was reported as a misspelling of: that the
	// key itself is missing from the mapping goes without saying.
	hinted map[hint]bool
}

type hint struct {
	mapping *yaml.Node
	key     string
}

func newParser(file string) *parser {
	return &parser{file: file, seen: map[Error]bool{}, hinted: map[hint]bool{}}
}

// lacks reports whether the required key is missing from m, the fields of mapping n, and was not already
// suggested for a misspelt key there.
func (p *parser) lacks(n *yaml.Node, m map[string]field, key string) bool {
	_, ok := m[key]
	return !ok && !p.hinted[hint{resolve(n), key}]
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

// mapping reads n as the mapping named what (`flag "beta"`) and returns its fields by key. It reports keys
// not in known, with a suggestion. It returns nil after reporting n if n is no mapping.
func (p *parser) mapping(n *yaml.Node, what string, known []string) map[string]field {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping, not %s", what, describe(n))
		return nil
	}
	m := map[string]field{}
	for _, f := range p.fields(n, what, "key") {
		if !slices.Contains(known, f.key.Value) {
			p.errorf(f.key, "unknown key %q in %s%s", f.key.Value, what, suggest(f.key.Value, known))
			if best := closest(f.key.Value, known); best != "" {
				p.hinted[hint{n, best}] = true
			}
			continue
		}
		m[f.key.Value] = f
	}
	return m
}

// fields returns the fields of mapping n in order, with merge keys ("<<: *defaults") expanded: a key written
// in n wins over a merged one, and an earlier merged mapping over a later one. It reports duplicate keys,
// naming a key noun ("key", "flag") in what.
func (p *parser) fields(n *yaml.Node, what, noun string) []field {
	var fields, merged []field
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			p.errorf(k, "keys in %s must be plain names, not %s", what, describe(k))
		case k.ShortTag() == "!!merge":
			merged = append(merged, p.merge(v, what, noun)...)
		case first[k.Value] != nil:
			p.errorf(k, "duplicate %s %q in %s (first at line %d); remove one", noun, k.Value, what, first[k.Value].Line)
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

func (p *parser) merge(v *yaml.Node, what, noun string) []field {
	v = resolve(v)
	var fields []field
	switch v.Kind {
	case yaml.MappingNode:
		return p.fields(v, what, noun)
	case yaml.SequenceNode:
		for _, item := range v.Content {
			if m := resolve(item); m.Kind == yaml.MappingNode {
				fields = append(fields, p.fields(m, what, noun)...)
			} else {
				p.errorf(m, `"<<" must merge mappings, not %s`, describe(m))
			}
		}
	default:
		p.errorf(v, `"<<" must merge a mapping or a list of mappings, not %s`, describe(v))
	}
	return fields
}

// list reads n as a list named what; null is an empty list. ok is false after reporting n.
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

// text reads a scalar as written, so that numbers and booleans keep their spelling. Unlike pipeline's, it
// refuses null: every text in a flags file means something when it is empty.
func (p *parser) text(n *yaml.Node, what string) (string, bool) {
	n = resolve(n)
	switch {
	case n.Kind != yaml.ScalarNode:
		p.errorf(n, "%s must be a string, not %s", what, describe(n))
		return "", false
	case isNull(n):
		p.errorf(n, "%s has no value", what)
		return "", false
	}
	return n.Value, true
}

// number reads a finite int or float scalar. A quoted number is a string and is refused.
func (p *parser) number(n *yaml.Node, what string) (float64, bool) {
	n = resolve(n)
	f, ok := scalarNumber(n)
	if !ok {
		hint := ""
		if _, err := strconv.ParseFloat(n.Value, 64); err == nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
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

// scalarNumber decodes an int or float scalar. Negative zero is zero: JSON and YAML integers have no
// sign for it, so a Set would not read back the same from its JSON otherwise.
func scalarNumber(n *yaml.Node) (float64, bool) {
	var f float64
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil {
		return 0, false
	}
	if f == 0 {
		f = 0
	}
	return f, true
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

// duration reads a Go duration ("90s", "10m") of at least least. A bare number needs a unit, since "10"
// could mean seconds or minutes.
func (p *parser) duration(n *yaml.Node, what string, least time.Duration) (time.Duration, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || !slices.Contains([]string{"!!str", "!!int", "!!float"}, n.ShortTag()) {
		p.errorf(n, `%s must be a duration like "10m", not %s`, what, describe(n))
		return 0, false
	}
	if n.ShortTag() != "!!str" {
		p.errorf(n, `%s %s has no unit; write %q or %q`, what, n.Value, n.Value+"s", n.Value+"m")
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		p.errorf(n, `invalid %s %q: write a duration like "90s", "10m" or "1h30m"`, what, n.Value)
	case d < least:
		p.errorf(n, "%s must be at least %v, not %q", what, least, n.Value)
	default:
		return d, true
	}
	return 0, false
}

// percent reads a percentage with at most two decimals, from 0% to 100%, as basis points (0 to 10000).
func (p *parser) percent(n *yaml.Node, what string) (int, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		if bp, ok := parsePercent(n.Value); ok {
			return bp, true
		}
		if _, ok := scalarNumber(n); ok {
			p.errorf(n, `%s must be a percentage like "10%%", not %s; add "%%"`, what, describe(n))
			return 0, false
		}
	}
	p.errorf(n, `%s must be a percentage from 0%% to 100%% with at most two decimals, like "10%%" or "0.5%%", not %s`, what, describe(n))
	return 0, false
}

// parsePercent reads "N%", "N.D%" or "N.DD%" with N from 0 to 100 as basis points.
func parsePercent(s string) (int, bool) {
	num, ok := strings.CutSuffix(s, "%")
	if !ok {
		return 0, false
	}
	whole, frac, dotted := strings.Cut(num, ".")
	if whole == "" || len(whole) > 3 || len(frac) > 2 || (dotted && frac == "") || !digits(whole) || !digits(frac) {
		return 0, false
	}
	w, _ := strconv.Atoi(whole)
	f := 0
	if frac != "" {
		f, _ = strconv.Atoi(frac)
		if len(frac) == 1 {
			f *= 10
		}
	}
	bp := w*100 + f
	if bp > BucketCount {
		return 0, false
	}
	return bp, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatPercent writes basis points as the shortest percentage parsePercent reads back: 1000 is "10%",
// 3333 is "33.33%", 50 is "0.5%".
func formatPercent(bp int) string {
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".") + "%"
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

// suggest returns a hint for an unknown key: the known key it is closest to, or all of them.
func suggest(key string, known []string) string {
	if best := closest(key, known); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (known keys: %s)", strings.Join(known, ", "))
}

// closest returns the word in known that s is most likely a misspelling of, or "" when none is near.
func closest(s string, known []string) string {
	best, bestDist := "", 3 // further than 2 edits is a different word
	for _, k := range known {
		if d := distance(s, k); d < bestDist && d < len(s) {
			best, bestDist = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, counted in runes, ignoring case.
func distance(a, b string) int {
	ra, rb := []rune(strings.ToLower(a)), []rune(strings.ToLower(b))
	prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := range ra {
		cur[0] = i + 1
		for j := range rb {
			cost := 1
			if ra[i] == rb[j] {
				cost = 0
			}
			cur[j+1] = min(prev[j+1]+1, cur[j]+1, prev[j]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// checkAliases reports an anchor that contains an alias to itself, and aliases that expand the tree under
// root to far more nodes than it holds (a "billion laughs"), before anything walks it.
func (p *parser) checkAliases(root *yaml.Node) bool {
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
		if n.Kind == yaml.AliasNode && n.Alias != nil {
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
	if count(root); cyclic {
		return false
	}
	if limit := max(100_000, 4*len(size)); size[root] > limit {
		p.errorf(root, "aliases expand the file to more than %d nodes; use fewer aliases", limit)
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
	line = 1 + bytes.Count(before, []byte("\n"))
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, 1 + utf8.RuneCount(before)
}
