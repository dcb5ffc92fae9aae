package flags

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-cd/ferry/internal/yamlfile"
)

// The helpers below read YAML nodes the way internal/pipeline does, with the same wording (the words and the
// reporting themselves are internal/yamlfile's), so that a flags section in .ferry.yaml reads like the rest
// of the file.

// parser reads the YAML nodes of one file and collects every problem it finds.
type parser struct {
	yamlfile.Problems
	// hinted holds the keys that an unknown key of a mapping was reported as a misspelling of: that the
	// key itself is missing from the mapping goes without saying.
	hinted map[hint]bool
	// stored reads a Set that ferry wrote (its JSON), not a file a person wrote: rules that keep new
	// mistakes out of files, such as whole numbers beyond 2^53 - 1, do not apply to what was already
	// accepted, which ferry writes in its own spelling (1e20 as 100000000000000000000).
	stored bool
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

type hint struct {
	mapping *yaml.Node
	key     string
}

func newParser(file string) *parser {
	return &parser{Problems: yamlfile.Problems{File: file}, hinted: map[hint]bool{}}
}

// lacks reports whether the required key is missing from m, the fields of mapping n, and was not already
// suggested for a misspelt key there.
func (p *parser) lacks(n *yaml.Node, m map[string]field, key string) bool {
	_, ok := m[key]
	return !ok && !p.hinted[hint{resolve(n), key}]
}

// field is one key of a mapping and its value.
type field = yamlfile.Field

// mapping reads n as the mapping named what (`flag "beta"`) and returns its fields by key. It reports keys
// not in known, with a suggestion. It returns nil after reporting n if n is no mapping.
func (p *parser) mapping(n *yaml.Node, what string, known []string) map[string]field {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping, not %s", what, describe(n))
		return nil
	}
	m := map[string]field{}
	for _, f := range p.Fields(n, what, "key") {
		if !slices.Contains(known, f.Key.Value) {
			p.errorf(f.Key, "unknown key %q in %s%s", f.Key.Value, what, suggest(f.Key.Value, known))
			if best := closest(f.Key.Value, known); best != "" {
				p.hinted[hint{n, best}] = true
			}
			continue
		}
		m[f.Key.Value] = f
	}
	return m
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
	if !p.stored && math.Abs(f) > MaxSafeInteger && (n.ShortTag() == "!!int" || !strings.ContainsAny(n.Value, "eE")) {
		fix := fmt.Sprintf("write it with an exponent (%s) if rounding is fine", strconv.FormatFloat(f, 'e', -1, 64))
		if strings.HasPrefix(what, "variant ") {
			fix = fmt.Sprintf("write it as a string (%q) if the digits matter, or ", n.Value) + strings.TrimPrefix(fix, "write it ")
		}
		p.errorf(n, "%s is %s, beyond %d (2^53 - 1), the largest whole number JSON clients read exactly "+
			"(JavaScript reads %.0f): %s", what, n.Value, MaxSafeInteger, f, fix)
		return 0, false
	}
	return f, true
}

// MaxSafeInteger is the largest whole number a flags file may write without an exponent, 2^53 - 1: past it
// float64, and so JavaScript and every JSON client that reads numbers as doubles, silently rounds
// (9007199254740993 reads as 9007199254740992).
const MaxSafeInteger = 1<<53 - 1

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
