package flags

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MarshalJSON writes s in the form of a flags file, as JSON: {"flags": {KEY: {"variants": ...}}}, flags
// in key order, everything else in the order it was written (the order of a rollout's variants decides who
// gets which). Percentages are written "33.33%", intervals as Go durations, patterns and versions as
// written. Source positions are not kept.
func (s *Set) MarshalJSON() ([]byte, error) {
	w := &jsonWriter{}
	w.raw(`{"flags":{`)
	if s != nil {
		for i, k := range s.keys {
			if i > 0 {
				w.raw(",")
			}
			w.str(k)
			w.raw(":")
			s.flags[k].marshal(w)
		}
	}
	w.raw("}}")
	return w.b, w.err
}

// UnmarshalJSON reads what MarshalJSON wrote, through Parse: JSON is YAML, so a stored Set is checked and
// compiled exactly like a file, and evaluates exactly like the Set it was written from. It replaces s.
func (s *Set) UnmarshalJSON(data []byte) error {
	p := newParser("")
	p.stored = true
	parsed, err := p.done(p.document(data))
	if err != nil {
		return fmt.Errorf("decode flags: %w", err)
	}
	*s = *parsed
	return nil
}

func (f *Flag) marshal(w *jsonWriter) {
	w.raw(`{"variants":{`)
	for i, name := range f.names {
		if i > 0 {
			w.raw(",")
		}
		w.str(name)
		w.raw(":")
		w.value(f.values[i])
	}
	w.raw(`},"default":`)
	w.str(f.names[f.def])
	if f.disabled {
		w.raw(`,"disabled":true`)
	}
	if f.bucketBy != "" {
		w.raw(`,"bucket_by":`)
		w.str(f.bucketBy)
	}
	if len(f.rules) > 0 {
		w.raw(`,"rules":[`)
		for i, r := range f.rules {
			if i > 0 {
				w.raw(",")
			}
			w.raw("{")
			if r.cond != nil {
				w.raw(`"if":`)
				r.cond.marshal(w)
				w.raw(",")
			}
			if r.split == nil {
				w.raw(`"variant":`)
				w.str(f.names[r.variant])
			} else {
				w.raw(`"rollout":{`)
				for j, v := range r.split.variants {
					if j > 0 {
						w.raw(",")
					}
					w.str(f.names[v])
					w.raw(":")
					w.str(formatPercent(r.split.weights[j]))
				}
				w.raw("}")
			}
			w.raw("}")
		}
		w.raw("]")
	}
	if p := f.prog; p != nil {
		w.raw(`,"progressive":{"variant":`)
		w.str(f.names[p.variant])
		if p.experiment {
			w.raw(`,"experiment":`)
			w.str(formatPercent(p.steps[0]))
			w.raw("}")
			w.raw("}")
			return
		}
		w.raw(`,"steps":[`)
		for i, bp := range p.steps {
			if i > 0 {
				w.raw(",")
			}
			w.str(formatPercent(bp))
		}
		w.raw(`],"interval":`)
		w.str(p.interval.String())
		w.raw("}")
	}
	w.raw("}")
}

func (c *cond) marshal(w *jsonWriter) {
	w.raw("{")
	switch c.op {
	case opAll, opAny:
		w.str(c.op.String())
		w.raw(":[")
		for i, k := range c.kids {
			if i > 0 {
				w.raw(",")
			}
			k.marshal(w)
		}
		w.raw("]}")
		return
	case opNot:
		w.raw(`"not":`)
		c.kids[0].marshal(w)
		w.raw("}")
		return
	}
	w.raw(`"attribute":`)
	w.str(c.attr)
	w.raw(",")
	w.str(c.op.String())
	w.raw(":")
	switch c.op {
	case opEquals, opNotEquals:
		w.value(c.lits[0].value())
	case opOneOf, opNotOneOf:
		w.raw("[")
		for i, l := range c.lits {
			if i > 0 {
				w.raw(",")
			}
			w.value(l.value())
		}
		w.raw("]")
	case opGt, opGte, opLt, opLte:
		w.value(c.num)
	case opPresent:
		w.value(c.present)
	default: // string operators, matches, semver: the operand as written
		w.str(c.text)
	}
	w.raw("}")
}

// jsonWriter writes JSON that go.yaml.in/yaml/v3 reads back to the same values, which encoding/json does
// not guarantee: YAML refuses some characters raw (DEL, C1 controls) and folds others (NEL, U+2028,
// U+2029) inside quotes, and refuses the \u escapes of UTF-16 surrogates. So every character outside
// printable ASCII and below U+10000 is escaped as \uXXXX, and the rest is written as UTF-8.
type jsonWriter struct {
	b   []byte
	err error
}

func (w *jsonWriter) raw(s string) { w.b = append(w.b, s...) }

func (w *jsonWriter) str(s string) {
	const hex = "0123456789abcdef"
	w.b = append(w.b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			w.b = append(w.b, '\\', byte(r))
		case r >= 0x20 && r < 0x7f:
			w.b = append(w.b, byte(r))
		case r >= 0x10000:
			w.b = utf8.AppendRune(w.b, r)
		default:
			w.b = append(w.b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		}
	}
	w.b = append(w.b, '"')
}

// value writes a JSON value as the parser builds them; object keys in sorted order.
func (w *jsonWriter) value(v any) {
	switch x := v.(type) {
	case nil:
		w.raw("null")
	case bool:
		w.b = strconv.AppendBool(w.b, x)
	case string:
		w.str(x)
	case float64:
		b, err := json.Marshal(x)
		if err != nil && w.err == nil {
			w.err = fmt.Errorf("encode flags: %w", err)
		}
		w.b = append(w.b, b...)
	case []any:
		w.raw("[")
		for i, e := range x {
			if i > 0 {
				w.raw(",")
			}
			w.value(e)
		}
		w.raw("]")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		w.raw("{")
		for i, k := range keys {
			if i > 0 {
				w.raw(",")
			}
			w.str(k)
			w.raw(":")
			w.value(x[k])
		}
		w.raw("}")
	default:
		if w.err == nil {
			w.err = fmt.Errorf("encode flags: unexpected value %T", v)
		}
	}
}
