package flags

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	fileKeys        = []string{"flags"}
	flagKeys        = []string{"variants", "default", "rules", "progressive", "disabled", "bucket_by"}
	ruleKeys        = []string{"if", "variant", "rollout"}
	progressiveKeys = []string{"variant", "steps", "interval", "experiment"}

	// namePattern is the rule for flag keys and variant names: keys appear in URLs.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

const (
	maxNameLen = 200
	// minInterval is the shortest progressive interval: faster steps would outrun the server that takes them.
	minInterval = time.Second
)

// Parse reads a flags file, .ferry/flags.yaml: a mapping with one key, flags. file names it in messages (it
// is never opened). The error is an ErrorList of every problem found, sorted by position; when it is
// non-nil the Set is nil.
func Parse(file string, data []byte) (*Set, error) {
	p := newParser(file)
	return p.done(p.document(data))
}

// ParseNode reads n, the value of the flags: key of .ferry.yaml, as Parse reads the flags key of a flags
// file; file names the file in messages. A nil n, or null, is an empty Set.
func ParseNode(file string, n *yaml.Node) (*Set, error) {
	p := newParser(file)
	if n == nil {
		return &Set{}, nil
	}
	var s *Set
	if p.CheckAliases(n) {
		s = p.set(n)
	}
	return p.done(s)
}

func (p *parser) done(s *Set) (*Set, error) {
	if len(p.List) > 0 {
		p.List.Sort()
		return nil, p.List
	}
	return s, nil
}

// document reads data as exactly one YAML document holding a mapping with the key flags.
func (p *parser) document(data []byte) *Set {
	const start = `start it with "flags:" and one flag per key`
	top := p.Document(data, "flags", start)
	if top == nil {
		return nil
	}
	if top.Kind != yaml.MappingNode {
		p.errorf(top, `the file must be a mapping with the key "flags", not %s`, describe(top))
		return nil
	}
	m := p.mapping(top, "the file", fileKeys)
	if p.lacks(top, m, "flags") {
		p.errorf(top, `the file has no "flags"; %s`, start)
	}
	if f, ok := m["flags"]; ok {
		return p.set(f.Val)
	}
	return nil
}

// set reads the mapping of flag keys to flags.
func (p *parser) set(n *yaml.Node) *Set {
	n = resolve(n)
	s := &Set{flags: map[string]*Flag{}}
	if isNull(n) {
		return s
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, `"flags" must be a mapping of flag keys to flags, not %s`, describe(n))
		return nil
	}
	for _, fd := range p.Fields(n, `"flags"`, "flag") {
		key := fd.Key.Value
		if !p.name(fd.Key, "flag key") {
			key = ""
		}
		if f := p.flag(key, fd.Val); f != nil && key != "" {
			s.flags[key] = f
			s.keys = append(s.keys, key)
		}
	}
	slices.Sort(s.keys)
	return s
}

// name reports a flag key or variant name (kind) that is not made of letters, digits, "_", "." and "-".
func (p *parser) name(n *yaml.Node, kind string) bool {
	switch s := n.Value; {
	case s == "":
		p.errorf(n, "%s is empty", kind)
	case len(s) > maxNameLen:
		p.errorf(n, "%s %s is longer than %d characters", kind, describe(n), maxNameLen)
	case !namePattern.MatchString(s):
		p.errorf(n, `invalid %s %q: use letters, digits, "_", "." and "-", starting with a letter or digit`, kind, s)
	default:
		return true
	}
	return false
}

// flag reads one flag. key is "" when it is invalid: the flag is still read, for its own problems.
func (p *parser) flag(key string, n *yaml.Node) *Flag {
	what := "flag"
	if key != "" {
		what = fmt.Sprintf("flag %q", key)
	}
	m := p.mapping(n, what, flagKeys)
	if m == nil {
		return nil
	}
	n = resolve(n)
	f := &Flag{key: key, def: -1, index: map[string]int{}}
	ok := true
	if vf, has := m["variants"]; has {
		ok = p.variants(f, vf.Val, what)
	} else {
		if p.lacks(n, m, "variants") {
			p.errorf(n, `%s has no "variants"; add them, like variants: {on: true, off: false}`, what)
		}
		ok = false
	}
	if df, has := m["default"]; !has {
		if p.lacks(n, m, "default") {
			p.errorf(n, `%s has no "default"; add default: NAME, naming the variant served when no rule matches`, what)
		}
		ok = false
	} else if i, found := p.variantRef(f, df.Val, "default", what); found {
		f.def = i
	} else {
		ok = false
	}
	if df, has := m["disabled"]; has {
		b, good := p.boolean(df.Val, `"disabled"`)
		f.disabled, ok = b, ok && good
	}
	if bf, has := m["bucket_by"]; has {
		s, good := p.text(bf.Val, `"bucket_by"`)
		if good && s == "" {
			p.errorf(resolve(bf.Val), `"bucket_by" is empty; name an attribute of the evaluation context, like userId`)
			good = false
		}
		f.bucketBy, ok = s, ok && good
		if s == TargetingKey {
			f.bucketBy = ""
		}
	}
	always := -1 // the index of the first rule without "if"
	if rf, has := m["rules"]; has {
		items, good := p.Sequence(rf.Val, `"rules"`)
		ok = ok && good
		for i, item := range items {
			if always >= 0 {
				p.errorf(resolve(item), `rule %d of %s is never reached: rule %d has no "if", so it always matches; remove one or give rule %d an "if"`,
					i+1, what, always+1, always+1)
				ok = false
				break
			}
			r, good := p.rule(f, item, i, what)
			ok = ok && good
			f.rules = append(f.rules, r)
			if r.cond == nil && good {
				always = i
			}
		}
	}
	if pf, has := m["progressive"]; has {
		if always >= 0 && f.rules[always].split == nil {
			p.errorf(pf.Key, `"progressive" of %s is never reached: rule %d has no "if" and a fixed variant, so it decides for everyone`,
				what, always+1)
			ok = false
		}
		ok = p.progressive(f, pf.Val, what) && ok
	}
	if f.bucketBy != "" && f.prog == nil && !slices.ContainsFunc(f.rules, func(r rule) bool { return r.split != nil }) {
		p.errorf(m["bucket_by"].Key, `"bucket_by" has no effect: %s has no rollout and no progressive; remove it`, what)
		ok = false
	}
	if !ok {
		return nil
	}
	return f
}

// variants reads the variants of f: names to values of one type.
func (p *parser) variants(f *Flag, n *yaml.Node, what string) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, `"variants" of %s must be a mapping of names to values, like {on: true, off: false}, not %s`, what, describe(n))
		return false
	}
	fields := p.Fields(n, `"variants"`, "variant")
	if len(fields) == 0 {
		p.errorf(n, `%s has no variants; add at least one, like {on: true, off: false}`, what)
		return false
	}
	ok := true
	first := ""
	for _, vf := range fields {
		name := vf.Key.Value
		good := p.name(vf.Key, "variant name")
		v, typ, valid := p.variantValue(vf.Val, name)
		switch {
		case !valid:
			good = false
		case f.typ == 0:
			f.typ, first = typ, name
		case typ != f.typ:
			p.errorf(resolve(vf.Val), "variant %q is %s, but variant %q is %s; the variants of a flag all have one type",
				name, typ.article(), first, f.typ.article())
			good = false
		}
		if !good {
			ok = false
			continue
		}
		f.index[name] = len(f.names)
		f.names = append(f.names, name)
		f.values = append(f.values, v)
	}
	return ok
}

// variantValue reads the value of the variant named name.
func (p *parser) variantValue(n *yaml.Node, name string) (any, Type, bool) {
	n = resolve(n)
	what := fmt.Sprintf("variant %q", name)
	switch {
	case n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode:
		v, ok := p.jsonValue(n, what)
		return v, Object, ok
	case isNull(n):
		p.errorf(n, `%s has no value; give it one, like true, "text", 10 or {key: value}`, what)
		return nil, 0, false
	}
	v, ok := p.jsonValue(n, what)
	switch v.(type) {
	case bool:
		return v, Bool, ok
	case string:
		return v, String, ok
	case float64:
		return v, Number, ok
	}
	return nil, 0, false
}

// jsonValue converts n to the value it has in JSON: map[string]any, []any, string, float64, bool or nil.
func (p *parser) jsonValue(n *yaml.Node, what string) (any, bool) {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		ok := true
		for _, f := range p.Fields(n, what, "key") {
			if isNull(f.Key) {
				p.errorf(f.Key, "keys in %s must be strings, not empty", what)
				ok = false
				continue
			}
			v, good := p.jsonValue(f.Val, what)
			m[f.Key.Value], ok = v, ok && good
		}
		return m, ok
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		ok := true
		for _, item := range n.Content {
			v, good := p.jsonValue(item, what)
			l, ok = append(l, v), ok && good
		}
		return l, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b, true
			}
		case "!!str", "!!timestamp":
			return n.Value, true
		case "!!int", "!!float":
			f, ok := p.number(n, what)
			return f, ok
		}
	}
	p.errorf(n, "%s must hold strings, numbers, true/false, lists and mappings, not %s %s", what, n.Tag, describe(n))
	return nil, false
}

// variantRef reads a variant name that role ("default", "rule variant") gives in the flag named what.
func (p *parser) variantRef(f *Flag, n *yaml.Node, role, what string) (int, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		if i, ok := f.index[n.Value]; ok {
			return i, true
		}
	}
	if len(f.names) == 0 {
		return -1, false // the variants themselves were reported
	}
	hint := " (variants: " + strings.Join(f.names, ", ") + ")"
	if best := closest(n.Value, f.names); n.Kind == yaml.ScalarNode && !isNull(n) && best != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", best)
	}
	p.errorf(n, "%s %s is not a variant of %s%s", role, describe(n), what, hint)
	return -1, false
}

// rule reads rule i (0-based) of f.
func (p *parser) rule(f *Flag, n *yaml.Node, i int, flagWhat string) (rule, bool) {
	what := fmt.Sprintf("rule %d of %s", i+1, flagWhat)
	r := rule{variant: -1}
	m := p.mapping(n, what, ruleKeys)
	if m == nil {
		return r, false
	}
	n = resolve(n)
	ok := true
	if cf, has := m["if"]; has {
		if r.cond = p.condition(cf.Val); r.cond == nil {
			ok = false
		}
	}
	vf, hasVariant := m["variant"]
	sf, hasSplit := m["rollout"]
	switch {
	case hasVariant && hasSplit:
		later := vf
		if sf.Key.Line > vf.Key.Line || (sf.Key.Line == vf.Key.Line && sf.Key.Column > vf.Key.Column) {
			later = sf
		}
		p.errorf(later.Key, `%s has both "variant" and "rollout"; keep one`, what)
		return r, false
	case hasVariant:
		idx, good := p.variantRef(f, vf.Val, "rule variant", flagWhat)
		r.variant, ok = idx, ok && good
	case hasSplit:
		s, good := p.split(f, sf.Val, what, flagWhat)
		r.split, ok = s, ok && good
	default:
		if p.lacks(n, m, "variant") && p.lacks(n, m, "rollout") {
			p.errorf(n, `%s has no "variant" or "rollout"; add variant: NAME, or rollout: {NAME: 10%%, OTHER: 90%%}`, what)
		}
		ok = false
	}
	return r, ok
}

// split reads a rule's "rollout": a percentage split between variants, which must add up to 100 %.
func (p *parser) split(f *Flag, n *yaml.Node, what, flagWhat string) (*split, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, `"rollout" of %s must be a mapping of variants to percentages, like {on: 10%%, off: 90%%}, not %s`, what, describe(n))
		return nil, false
	}
	fields := p.Fields(n, `"rollout"`, "variant")
	if len(fields) == 0 {
		p.errorf(n, `"rollout" of %s is empty; give variants percentages that add up to 100%%, like {on: 10%%, off: 90%%}`, what)
		return nil, false
	}
	s := &split{}
	ok := true
	sum := 0
	for _, vf := range fields {
		idx, good := p.variantRef(f, vf.Key, "rollout variant", flagWhat)
		bp, valid := p.percent(vf.Val, fmt.Sprintf("the weight of %q", vf.Key.Value))
		if !good || !valid {
			ok = false
			continue
		}
		sum += bp
		s.variants = append(s.variants, idx)
		s.weights = append(s.weights, bp)
		s.ends = append(s.ends, sum)
	}
	if ok && sum != BucketCount {
		p.errorf(n, `"rollout" weights of %s add up to %s, not 100%%`, what, formatPercent(sum))
		ok = false
	}
	return s, ok
}

// progressive reads a progressive rollout of f: steps and an interval, or an experiment's fixed split.
func (p *parser) progressive(f *Flag, n *yaml.Node, what string) bool {
	m := p.mapping(n, fmt.Sprintf(`"progressive" of %s`, what), progressiveKeys)
	if m == nil {
		return false
	}
	n = resolve(n)
	pr := &progressive{variant: -1}
	ok := true
	if p.lacks(n, m, "variant") {
		p.errorf(n, `"progressive" of %s has no "variant"; name the variant to roll out, like {variant: on, steps: [1%%, 10%%, 100%%], interval: 10m}`, what)
		ok = false
	}
	if ef, has := m["experiment"]; has {
		ok = p.experiment(pr, m, ef, what) && ok
	} else {
		for _, k := range []string{"steps", "interval"} {
			if p.lacks(n, m, k) {
				p.errorf(n, `"progressive" of %s has no %q; it needs variant, steps and interval, like {variant: on, steps: [1%%, 10%%, 100%%], interval: 10m}, or variant and experiment, like {variant: on, experiment: 50%%}`, what, k)
				ok = false
			} else if _, has := m[k]; !has {
				ok = false
			}
		}
	}
	if vf, has := m["variant"]; has {
		idx, good := p.variantRef(f, vf.Val, "progressive variant", what)
		if good && idx == f.def {
			p.errorf(resolve(vf.Val), `progressive variant %q is the default of %s; a progressive rollout moves users from the default to another variant`,
				f.names[idx], what)
			good = false
		}
		pr.variant, ok = idx, ok && good
	}
	if sf, has := m["steps"]; has && !pr.experiment {
		ok = p.steps(pr, sf.Val) && ok
	}
	if inf, has := m["interval"]; has && !pr.experiment {
		d, good := p.duration(inf.Val, `"interval"`, minInterval)
		pr.interval, ok = d, ok && good
	}
	if ok {
		f.prog = pr
	}
	return ok
}

// experiment reads an experiment: a fixed split between the variant and the rest, held while the analysis
// passes, with no steps and no interval.
func (p *parser) experiment(pr *progressive, m map[string]field, ef field, what string) bool {
	pr.experiment = true
	ok := true
	for _, k := range []string{"steps", "interval"} {
		if f, has := m[k]; has {
			p.errorf(f.Key, `%q does not go with "experiment" in %s: an experiment holds one split and never advances; remove it, or remove "experiment" for a progressive rollout`, k, what)
			ok = false
		}
	}
	bp, good := p.percent(ef.Val, `"experiment"`)
	switch {
	case !good:
		return false
	case bp == 0 || bp == 10000:
		p.errorf(resolve(ef.Val), `"experiment" of %s must be more than 0%% and less than 100%%, not %q: an experiment compares the variant with the rest`,
			what, resolve(ef.Val).Value)
		return false
	}
	pr.steps = []int{bp}
	return ok
}

func (p *parser) steps(pr *progressive, n *yaml.Node) bool {
	items, ok := p.Sequence(n, `"steps"`)
	if ok && len(items) == 0 {
		p.errorf(resolve(n), `"steps" is empty; list growing percentages, like [1%%, 10%%, 50%%, 100%%]`)
		return false
	}
	prev := 0
	for _, item := range items {
		bp, good := p.percent(item, "each step")
		switch {
		case !good:
			ok = false
		case bp == 0:
			p.errorf(resolve(item), `each step must be more than 0%%, not %q`, resolve(item).Value)
			ok = false
		case bp <= prev:
			p.errorf(resolve(item), `steps must increase: %s is not more than %s`, formatPercent(bp), formatPercent(prev))
			ok = false
		default:
			pr.steps = append(pr.steps, bp)
			prev = bp
		}
	}
	return ok
}
