// Package yamlfile is what ferry's YAML file parsers (the pipeline, the feature flags) share: problems
// reported as FILE:LINE:COL at the node they are about, each once; YAML syntax errors located even where
// yaml.v3 gives no line; anchors that contain themselves or expand without bound refused before anything
// walks the tree; and the words of messages (how a node is described, which known key a typo meant).
package yamlfile

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a pipeline file, at a 1-based line and column. Line is 0 when the position is
// unknown; the message then carries only the file name.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

// Error returns "FILE:LINE:COL: msg", leaving out what is unknown: the file when File is empty, the
// position when Line is 0.
func (e *Error) Error() string {
	var pos []string
	if e.File != "" {
		pos = append(pos, e.File)
	}
	if e.Line > 0 {
		pos = append(pos, fmt.Sprint(e.Line), fmt.Sprint(e.Col))
	}
	if len(pos) == 0 {
		return e.Msg
	}
	return strings.Join(pos, ":") + ": " + e.Msg
}

// ErrorList is every problem Parse found, sorted by position. Its Error method prints one per line.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error in the list.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// Sort orders l by position, keeping the order in which problems at one position were found.
func (l ErrorList) Sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// Problems collects the problems found in one file, each once: a node behind an anchor is read once per
// alias to it.
type Problems struct {
	File string
	List ErrorList
	seen map[Error]bool
}

// At reports a problem at node n.
func (p *Problems) At(n *yaml.Node, format string, args ...any) {
	e := Error{File: p.File, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)}
	if p.seen[e] {
		return
	}
	if p.seen == nil {
		p.seen = map[Error]bool{}
	}
	p.seen[e] = true
	p.List = append(p.List, &e)
}

// CheckAliases reports an anchor that contains an alias to itself, and aliases that expand the tree under
// root to far more nodes than it holds (a "billion laughs"), before anything walks it.
func (p *Problems) CheckAliases(root *yaml.Node) bool {
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
				p.At(n, "alias *%s is inside its own anchor &%s; an anchor cannot contain itself", n.Value, n.Value)
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
		p.At(root, "aliases expand the file to more than %d nodes; use fewer aliases", limit)
		return false
	}
	return true
}

// Syntax reports a YAML syntax error. yaml.v3 says "yaml: line N: msg" but leaves the line out on the first
// line and for errors it finds while reading bytes or resolving aliases; those are located in data.
func (p *Problems) Syntax(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line, col := 1, 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, rest, _ := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); err == nil {
			line, msg = n, rest
		}
		if strings.Contains(msg, "tab character") {
			// yaml.v3 gives the line of the token before the tab, often the line above it: point at the tab.
			if l, c, ok := indentTab(data, line); ok {
				line, col = l, c
			}
			msg += "; indent with spaces, YAML does not allow tabs there"
		}
	} else if off := locate(data, msg); off >= 0 {
		line, col = position(data, off)
	}
	p.List = append(p.List, &Error{File: p.File, Line: line, Col: col, Msg: "invalid YAML: " + msg})
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

// indentTab finds the first tab in the indentation of a line of data at or after line (1-based), and returns
// its line and column.
func indentTab(data []byte, line int) (int, int, bool) {
	lines := bytes.Split(data, []byte("\n"))
	for i := max(line-1, 0); i < len(lines); i++ {
		for j, c := range lines[i] {
			if c == '\t' {
				return i + 1, j + 1, true
			}
			if c != ' ' {
				break
			}
		}
	}
	return 0, 0, false
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

// Resolve follows an alias to the node its anchor names.
func Resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is an empty scalar or null.
func IsNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// Describe names what a node is for "must be X, not Y" messages: a scalar as written, quoted if a string.
func Describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case IsNull(n):
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

// Suggest returns a hint for an unknown key: the known key it is closest to, or all of them.
func Suggest(key string, known []string) string {
	if best := Closest(key, known); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (known keys: %s)", strings.Join(known, ", "))
}

// Closest returns the word in known that s is most likely a misspelling of, or "" when none is near.
func Closest(s string, known []string) string {
	best, bestDist := "", 3 // further than 2 edits is a different word
	for _, k := range known {
		if d := distance(s, k); d < bestDist && d < len(s) {
			best, bestDist = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, counted in runes.
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

// Document reads data as exactly one YAML document and returns its top node, followed through an alias. It
// reports, and returns nil for, an empty file ("file is empty; " and start, which says how to begin one),
// bad YAML and anchors CheckAliases refuses; a second document is reported too. kind names the file in
// messages: "pipeline", "flags".
func (p *Problems) Document(data []byte, kind, start string) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.At(&yaml.Node{Line: 1, Column: 1}, "file is empty; %s", start)
		} else {
			p.Syntax(data, err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.At(&extra, "a second YAML document starts here; a %s file holds exactly one, so remove it", kind)
	case !errors.Is(err, io.EOF):
		p.Syntax(data, err)
	}
	if !p.CheckAliases(&doc) {
		return nil
	}
	top := Resolve(doc.Content[0])
	if IsNull(top) {
		p.At(top, "file is empty; %s", start)
		return nil
	}
	return top
}

// Field is one key of a mapping and its value.
type Field struct{ Key, Val *yaml.Node }

// Fields returns the fields of mapping n in order, with merge keys ("<<: *defaults") expanded: a key written
// in n wins over a merged one, and an earlier merged mapping over a later one. It reports keys that are not
// plain names, and duplicates, calling a key noun ("key", "flag") in the mapping named what.
func (p *Problems) Fields(n *yaml.Node, what, noun string) []Field {
	var fields, merged []Field
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Resolve(n.Content[i]), n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			p.At(k, "keys in %s must be plain names, not %s", what, Describe(k))
		case k.ShortTag() == "!!merge":
			merged = append(merged, p.merge(v, what, noun)...)
		case first[k.Value] != nil:
			p.At(k, "duplicate %s %q in %s (first at line %d); remove one", noun, k.Value, what, first[k.Value].Line)
		default:
			first[k.Value] = k
			fields = append(fields, Field{k, v})
		}
	}
	for _, f := range merged {
		if first[f.Key.Value] == nil {
			first[f.Key.Value] = f.Key
			fields = append(fields, f)
		}
	}
	return fields
}

func (p *Problems) merge(v *yaml.Node, what, noun string) []Field {
	v = Resolve(v)
	var fields []Field
	switch v.Kind {
	case yaml.MappingNode:
		return p.Fields(v, what, noun)
	case yaml.SequenceNode:
		for _, item := range v.Content {
			if m := Resolve(item); m.Kind == yaml.MappingNode {
				fields = append(fields, p.Fields(m, what, noun)...)
			} else {
				p.At(m, `"<<" must merge mappings, not %s`, Describe(m))
			}
		}
	default:
		p.At(v, `"<<" must merge a mapping or a list of mappings, not %s`, Describe(v))
	}
	return fields
}

// Sequence reads n as a list of the things named what; null is an empty list. ok is false after reporting n.
func (p *Problems) Sequence(n *yaml.Node, what string) (items []*yaml.Node, ok bool) {
	n = Resolve(n)
	switch {
	case n.Kind == yaml.SequenceNode:
		return n.Content, true
	case IsNull(n):
		return nil, true
	}
	p.At(n, "%s must be a list, not %s", what, Describe(n))
	return nil, false
}
