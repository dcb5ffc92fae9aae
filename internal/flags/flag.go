package flags

import (
	"slices"
	"time"
)

// FileName is where a repository declares its flags when they are not a flags: section of .ferry.yaml.
const FileName = ".ferry/flags.yaml"

// Set is the parsed, validated flags of one release. It is immutable and safe for concurrent use; its
// zero value and nil hold no flags. It marshals to JSON and back without changing how any flag evaluates.
type Set struct {
	flags map[string]*Flag
	keys  []string // sorted
}

// Keys returns the flag keys in sorted order.
func (s *Set) Keys() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.keys)
}

// Flag returns the flag named key.
func (s *Set) Flag(key string) (*Flag, bool) {
	if s == nil {
		return nil, false
	}
	f, ok := s.flags[key]
	return f, ok
}

// Type is the type of a flag's variant values, which they all share.
type Type int

const (
	Bool Type = iota + 1
	String
	Number
	// Object is a JSON object or list.
	Object
)

var typeNames = []string{Bool: "boolean", String: "string", Number: "number", Object: "object"}

// String returns boolean, string, number or object.
func (t Type) String() string {
	if t < Bool || t > Object {
		return "unknown"
	}
	return typeNames[t]
}

// article returns "a boolean", "an object"...
func (t Type) article() string {
	if t == Object {
		return "an object"
	}
	return "a " + t.String()
}

// Flag is one feature flag of a Set. Its methods return copies: a Flag never changes.
type Flag struct {
	key    string
	typ    Type
	names  []string // variant names in file order
	values []any    // the variants' values, in the same order
	index  map[string]int
	def    int
	// disabled serves the default variant to everyone, with reason DISABLED.
	disabled bool
	// bucketBy is the attribute splits hash; "" means targetingKey.
	bucketBy string
	rules    []rule
	prog     *progressive
}

// rule is a compiled rule: if cond (nil: always) matches, the fixed variant, or the split when variant is -1.
type rule struct {
	cond    *cond
	variant int
	split   *split
}

type progressive struct {
	variant    int
	steps      []int
	interval   time.Duration
	experiment bool
}

// Key returns the flag's key.
func (f *Flag) Key() string { return f.key }

// Type returns the type of the flag's values.
func (f *Flag) Type() Type { return f.typ }

// Variants returns the names of the flag's variants in the order they are written.
func (f *Flag) Variants() []string { return slices.Clone(f.names) }

// Value returns the value of the variant named name: a bool, a string, a float64, or for Object flags a
// map[string]any or []any of JSON values, which the caller may modify.
func (f *Flag) Value(name string) (any, bool) {
	i, ok := f.index[name]
	if !ok {
		return nil, false
	}
	return f.value(i), true
}

// Default returns the name of the variant served when no rule matches.
func (f *Flag) Default() string { return f.names[f.def] }

// Disabled reports whether the flag serves its default variant to everyone, with reason DISABLED.
func (f *Flag) Disabled() bool { return f.disabled }

// BucketBy returns the context attribute the flag's splits hash: targetingKey unless the file says.
func (f *Flag) BucketBy() string {
	if f.bucketBy == "" {
		return TargetingKey
	}
	return f.bucketBy
}

// Progressive is a flag's progressive rollout: the share of users, among those no rule matched, who get
// Variant instead of the default grows through Steps, one step per Interval. The server turns elapsed time
// into State.Progress; ShareAt does the arithmetic.
type Progressive struct {
	Variant string
	// Steps are shares in basis points (100 is 1 %), strictly increasing, from 1 to 10000.
	Steps    []int
	Interval time.Duration
	// Experiment is a fixed split: Steps holds its one share, Interval is 0, and the split never advances;
	// it is held while the analysis passes and reverted when it fails.
	Experiment bool
}

// Progressive returns the flag's progressive rollout, if it has one.
func (f *Flag) Progressive() (Progressive, bool) {
	if f.prog == nil {
		return Progressive{}, false
	}
	return Progressive{Variant: f.names[f.prog.variant], Steps: slices.Clone(f.prog.steps), Interval: f.prog.interval,
		Experiment: f.prog.experiment}, true
}

// ShareAt returns the share, in basis points, that p gives its variant elapsed after it started: the
// first step from the start, the next one after each Interval, and the last one from then on. Before the
// start (elapsed < 0) the share is 0.
func (p Progressive) ShareAt(elapsed time.Duration) int {
	if elapsed < 0 || len(p.Steps) == 0 {
		return 0
	}
	i := len(p.Steps) - 1
	if p.Interval > 0 {
		if n := elapsed / p.Interval; n < time.Duration(i) {
			i = int(n)
		}
	}
	return p.Steps[i]
}

// value returns variant i's value, copying objects so that no caller can change the Set.
func (f *Flag) value(i int) any {
	v := f.values[i]
	if f.typ == Object {
		return deepCopy(v)
	}
	return v
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}
