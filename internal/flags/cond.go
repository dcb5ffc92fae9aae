package flags

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// op is what a condition tests.
type op uint8

const (
	opAll op = iota + 1
	opAny
	opNot
	opEquals
	opNotEquals
	opOneOf
	opNotOneOf
	opStartsWith
	opEndsWith
	opContains
	opGt
	opGte
	opLt
	opLte
	opSemverEq
	opSemverGt
	opSemverGte
	opSemverLt
	opSemverLte
	opMatches
	opPresent
)

// opNames are the keys that name each op in a file, indexed by op.
var opNames = [...]string{
	opAll: "all", opAny: "any", opNot: "not",
	opEquals: "equals", opNotEquals: "not_equals", opOneOf: "one_of", opNotOneOf: "not_one_of",
	opStartsWith: "starts_with", opEndsWith: "ends_with", opContains: "contains",
	opGt: "gt", opGte: "gte", opLt: "lt", opLte: "lte",
	opSemverEq: "semver_eq", opSemverGt: "semver_gt", opSemverGte: "semver_gte", opSemverLt: "semver_lt", opSemverLte: "semver_lte",
	opMatches: "matches", opPresent: "present",
}

func (o op) String() string { return opNames[o] }

// operators are the ops that test an attribute, in the order the docs list them.
var operators = []op{
	opEquals, opNotEquals, opOneOf, opNotOneOf, opStartsWith, opEndsWith, opContains,
	opGt, opGte, opLt, opLte, opSemverEq, opSemverGt, opSemverGte, opSemverLt, opSemverLte, opMatches, opPresent,
}

// condKeys is every key a condition may have, for suggestions.
var condKeys = func() []string {
	keys := []string{"attribute", "all", "any", "not"}
	for _, o := range operators {
		keys = append(keys, o.String())
	}
	return keys
}()

func lookupOp(name string) (op, bool) {
	for o, n := range opNames {
		if n == name && n != "" {
			return op(o), true
		}
	}
	return 0, false
}

// cond is a compiled condition: everything it needs at evaluation is worked out when the file is read.
type cond struct {
	op   op
	attr string
	// kids are the conditions of all and any, or the one of not.
	kids []*cond
	// lits are the operands of equals and not_equals (one) and of one_of and not_one_of, as written.
	lits []literal
	// strs holds the string members of lits, for one_of and not_one_of.
	strs map[string]struct{}
	// text is the operand of the string operators, matches and the semver operators, as written.
	text    string
	num     float64
	ver     version
	re      *regexp.Regexp
	present bool
}

// kind is the JSON type of a literal or attribute value.
type kind uint8

const (
	kindNone kind = iota // missing, null, or of a type no operand has (objects, lists)
	kindString
	kindNumber
	kindBool
)

// literal is a string, number or boolean operand.
type literal struct {
	kind kind
	s    string
	f    float64
	b    bool
}

func (l literal) value() any {
	switch l.kind {
	case kindString:
		return l.s
	case kindNumber:
		return l.f
	}
	return l.b
}

// scalar classifies an attribute value. Numbers may be any Go numeric type, since Go callers build
// contexts by hand; JSON gives float64.
func scalar(v any) (kind, string, float64, bool) {
	switch x := v.(type) {
	case string:
		return kindString, x, 0, false
	case bool:
		return kindBool, "", 0, x
	case float64:
		return kindNumber, "", x, false
	}
	if f, ok := toFloat(v); ok {
		return kindNumber, "", f, false
	}
	return kindNone, "", 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// match reports whether ctx meets c. Every operator but present is false when the attribute is missing,
// null, or of a type the operator cannot compare.
func (c *cond) match(ctx map[string]any) bool {
	switch c.op {
	case opAll:
		for _, k := range c.kids {
			if !k.match(ctx) {
				return false
			}
		}
		return true
	case opAny:
		for _, k := range c.kids {
			if k.match(ctx) {
				return true
			}
		}
		return false
	case opNot:
		return !c.kids[0].match(ctx)
	}
	v, ok := ctx[c.attr]
	if c.op == opPresent {
		return (ok && v != nil) == c.present
	}
	if !ok || v == nil {
		return false
	}
	switch c.op {
	case opEquals, opNotEquals:
		eq, comparable := c.lits[0].equal(v)
		return comparable && eq == (c.op == opEquals)
	case opOneOf, opNotOneOf:
		in, comparable := c.in(v)
		return comparable && in == (c.op == opOneOf)
	case opStartsWith, opEndsWith, opContains, opMatches:
		s, ok := v.(string)
		if !ok {
			return false
		}
		switch c.op {
		case opStartsWith:
			return strings.HasPrefix(s, c.text)
		case opEndsWith:
			return strings.HasSuffix(s, c.text)
		case opContains:
			return strings.Contains(s, c.text)
		}
		return c.re.MatchString(s)
	case opGt, opGte, opLt, opLte:
		f, ok := number(v)
		if !ok {
			return false
		}
		switch c.op {
		case opGt:
			return f > c.num
		case opGte:
			return f >= c.num
		case opLt:
			return f < c.num
		}
		return f <= c.num
	case opSemverEq, opSemverGt, opSemverGte, opSemverLt, opSemverLte:
		ver, ok := attrVersion(v)
		if !ok {
			return false
		}
		d := ver.compare(c.ver)
		switch c.op {
		case opSemverEq:
			return d == 0
		case opSemverGt:
			return d > 0
		case opSemverGte:
			return d >= 0
		case opSemverLt:
			return d < 0
		}
		return d <= 0
	}
	return false
}

// equal compares l with an attribute value. comparable is false when they are of different types.
func (l literal) equal(v any) (eq, comparable bool) {
	k, s, f, b := scalar(v)
	if k != l.kind {
		return false, false
	}
	switch k {
	case kindString:
		return s == l.s, true
	case kindNumber:
		return f == l.f, true
	}
	return b == l.b, true
}

// in reports whether v is among c.lits; comparable is false when no member has v's type.
func (c *cond) in(v any) (in, comparable bool) {
	k, s, _, _ := scalar(v)
	if k == kindString && c.strs != nil {
		_, in = c.strs[s]
		return in, true
	}
	for _, l := range c.lits {
		eq, ok := l.equal(v)
		if eq {
			return true, true
		}
		comparable = comparable || ok
	}
	return false, comparable
}

// number reads an attribute as a number for gt, gte, lt and lte: a number, or a string holding one.
func number(v any) (float64, bool) {
	if s, ok := v.(string); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return toFloat(v)
}

// attrVersion reads an attribute as a version: a string, or a number written as JSON writes it and read as
// a partial version, as flagd does (1.2 is 1.2.0, 2 is 2.0.0, 1.10 is the number 1.1 and so 1.1.0; numbers
// that print with an exponent, such as 1e+21, are no version).
func attrVersion(v any) (version, bool) {
	if s, ok := v.(string); ok {
		return parseVersion(s, true)
	}
	if f, ok := toFloat(v); ok {
		return parseVersion(strconv.FormatFloat(f, 'g', -1, 64), true)
	}
	return version{}, false
}

// condition reads a condition: attribute plus one operator, or one of all, any and not.
func (p *parser) condition(n *yaml.Node) *cond {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "a condition must be a mapping like {attribute: email, ends_with: \"@example.com\"}, not %s", describe(n))
		return nil
	}
	var attr *field
	var ops []field
	unknown := false
	for _, f := range p.Fields(n, "condition", "key") {
		if f.Key.Value == "attribute" {
			attr = &f
			continue
		}
		if _, ok := lookupOp(f.Key.Value); !ok {
			p.errorf(f.Key, "unknown operator %q in condition%s", f.Key.Value, suggest(f.Key.Value, condKeys))
			unknown = true
			continue
		}
		ops = append(ops, f)
	}
	if len(ops) == 0 {
		switch {
		case unknown:
		case attr != nil:
			p.errorf(n, "condition on %q has no operator; add one of %s", attr.Val.Value, strings.Join(condKeys[4:], ", "))
		default:
			p.errorf(n, "condition is empty; write attribute: NAME and an operator, or all, any or not")
		}
		return nil
	}
	if len(ops) > 1 {
		p.errorf(ops[1].Key, "condition has two operators, %q and %q; write one per condition and combine conditions with all: [...]",
			ops[0].Key.Value, ops[1].Key.Value)
		return nil
	}
	o, _ := lookupOp(ops[0].Key.Value)
	val := ops[0].Val
	switch o {
	case opAll, opAny, opNot:
		if attr != nil {
			p.errorf(attr.Key, "%q takes no attribute: its conditions name their own", o.String())
			return nil
		}
		return p.combinator(o, val)
	}
	if attr == nil {
		p.errorf(ops[0].Key, "%q needs an attribute: add attribute: NAME to the condition", o.String())
		return nil
	}
	name, ok := p.text(attr.Val, `"attribute"`)
	if ok && name == "" {
		p.errorf(resolve(attr.Val), `"attribute" is empty; name an attribute of the evaluation context, like targetingKey or email`)
		ok = false
	}
	c := &cond{op: o, attr: name}
	if !p.operand(c, val) || !ok {
		return nil
	}
	return c
}

func (p *parser) combinator(o op, val *yaml.Node) *cond {
	c := &cond{op: o}
	if o == opNot {
		k := p.condition(val)
		if k == nil {
			return nil
		}
		c.kids = []*cond{k}
		return c
	}
	items, ok := p.Sequence(val, fmt.Sprintf("%q", o.String()))
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errorf(resolve(val), "%q is empty; list at least one condition", o.String())
		return nil
	}
	for _, item := range items {
		k := p.condition(item)
		if k == nil {
			ok = false
		}
		c.kids = append(c.kids, k)
	}
	if !ok {
		return nil
	}
	return c
}

// operand reads the value of c's operator into c.
func (p *parser) operand(c *cond, val *yaml.Node) bool {
	what := fmt.Sprintf("%q", c.op.String())
	switch c.op {
	case opEquals, opNotEquals:
		l, ok := p.literal(val, what)
		c.lits = []literal{l}
		return ok
	case opOneOf, opNotOneOf:
		items, ok := p.Sequence(val, what)
		if !ok {
			return false
		}
		if len(items) == 0 {
			p.errorf(resolve(val), "%s is empty; list the values to compare with", what)
			return false
		}
		for _, item := range items {
			l, ok1 := p.literal(item, "each value of "+what)
			if !ok1 {
				ok = false
				continue
			}
			c.lits = append(c.lits, l)
			if l.kind == kindString {
				if c.strs == nil {
					c.strs = map[string]struct{}{}
				}
				c.strs[l.s] = struct{}{}
			}
		}
		return ok
	case opStartsWith, opEndsWith, opContains:
		s, ok := p.text(val, what)
		c.text = s
		return ok
	case opGt, opGte, opLt, opLte:
		f, ok := p.number(val, what)
		c.num = f
		return ok
	case opSemverEq, opSemverGt, opSemverGte, opSemverLt, opSemverLte:
		s, ok := p.text(val, what)
		if !ok {
			return false
		}
		c.text = s
		if c.ver, ok = parseVersion(s, false); !ok {
			p.errorf(resolve(val), `invalid semantic version %q in %s: write MAJOR.MINOR.PATCH, like "1.4.0" or "2.0.0-rc.1"`, s, what)
		}
		return ok
	case opMatches:
		s, ok := p.text(val, what)
		if !ok {
			return false
		}
		c.text = s
		re, err := regexp.Compile(s)
		if err != nil {
			p.errorf(resolve(val), "invalid regular expression %q in %s: %s", s, what, regexpProblem(err))
			return false
		}
		c.re = re
		return true
	case opPresent:
		b, ok := p.boolean(val, what)
		c.present = b
		return ok
	}
	return false
}

// regexpProblem states what is wrong with a pattern without repeating "error parsing regexp".
func regexpProblem(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("%s: `%s` (Go RE2 syntax)", se.Code, se.Expr)
	}
	return err.Error()
}

// literal reads a string, number or boolean operand. A date written unquoted (2024-01-01) is read as the
// string it is written as, which is how an app would send it.
func (p *parser) literal(n *yaml.Node, what string) (literal, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			return literal{kind: kindString, s: n.Value}, true
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return literal{kind: kindBool, b: b}, true
			}
		case "!!int", "!!float":
			f, ok := p.number(n, what)
			return literal{kind: kindNumber, f: f}, ok
		}
	}
	p.errorf(n, "%s must be a string, a number or true/false, not %s", what, describe(n))
	return literal{}, false
}
