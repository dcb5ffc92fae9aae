package flags

import (
	"fmt"
	"strings"
)

// TargetingKey is the evaluation context attribute that identifies the subject of an evaluation (a user,
// a session), as OpenFeature names it. Splits hash it unless a flag says bucket_by.
const TargetingKey = "targetingKey"

// Reason says why an evaluation returned its variant, in OpenFeature's words.
type Reason string

const (
	// Static: the flag has no rules and no progressive rollout, or an override forced the variant.
	Static Reason = "STATIC"
	// TargetingMatch: a rule with a fixed variant matched.
	TargetingMatch Reason = "TARGETING_MATCH"
	// Split: a rollout, or the progressive rollout, chose the variant.
	Split Reason = "SPLIT"
	// Default: the flag has rules or a progressive rollout, and none of them applied.
	Default Reason = "DEFAULT"
	// Disabled: the flag is disabled; it serves its default variant.
	Disabled Reason = "DISABLED"
	// ErrorReason: the evaluation failed; the Result's ErrorCode says why.
	ErrorReason Reason = "ERROR"
)

// ErrorCode is an OpenFeature error code.
type ErrorCode string

const (
	FlagNotFound        ErrorCode = "FLAG_NOT_FOUND"
	TargetingKeyMissing ErrorCode = "TARGETING_KEY_MISSING"
	InvalidContext      ErrorCode = "INVALID_CONTEXT"
	// ParseError is for callers that fail to read a request; evaluation itself never returns it.
	ParseError ErrorCode = "PARSE_ERROR"
	General    ErrorCode = "GENERAL"
)

// Result is the outcome of evaluating one flag. When ErrorCode is set, Reason is ErrorReason, Variant is ""
// and Value is nil; the caller serves its own default.
type Result struct {
	Key     string
	Variant string
	// Value is the variant's value: bool, string, float64, or a fresh map[string]any or []any.
	Value        any
	Reason       Reason
	ErrorCode    ErrorCode
	ErrorMessage string
	// Metadata is nil but for an overridden flag, where it is {"override": true}.
	Metadata map[string]any
}

// State is the runtime state of a release's flags that is not in Git: what operators and the progressive
// rollouts changed since. The server keeps it and passes it to every evaluation; nil is no state.
type State struct {
	// Overrides forces flags, by key, to one of their variants (a kill switch). It wins over everything
	// else, including disabled: the result has reason STATIC and metadata {"override": true}. An override
	// naming a variant the flag does not have fails the evaluation with GENERAL rather than serve
	// something nobody chose.
	Overrides map[string]string
	// Progress is the share, in basis points from 0 to 10000, that progressive flags currently give their
	// progressive variant; values outside are clamped. A progressive flag missing here is at 0: nobody
	// gets the variant from the progressive rollout.
	Progress map[string]int
}

func (st *State) override(key string) (string, bool) {
	if st == nil || len(st.Overrides) == 0 {
		return "", false
	}
	v, ok := st.Overrides[key]
	return v, ok
}

func (st *State) progress(key string) int {
	if st == nil {
		return 0
	}
	return min(max(st.Progress[key], 0), BucketCount)
}

// CheckOverride returns an error unless variant is a variant of the flag named key, for the server to
// refuse an override that evaluation would refuse.
func (s *Set) CheckOverride(key, variant string) error {
	f, ok := s.Flag(key)
	if !ok {
		return fmt.Errorf("no flag %q", key)
	}
	if _, ok := f.index[variant]; !ok {
		return fmt.Errorf("flag %q has no variant %q (variants: %s)", key, variant, strings.Join(f.names, ", "))
	}
	return nil
}

// Evaluate evaluates the flag named key for the evaluation context ctx (JSON values as OFREP sends them,
// with TargetingKey for the subject), with st on top of what the file says. The first step that applies
// decides:
//
//  1. an override in st: that variant, STATIC;
//  2. disabled: the default variant, DISABLED;
//  3. the rules in order, first match wins: a fixed variant (TARGETING_MATCH), or a rollout (SPLIT);
//  4. no rule matched: the default variant, STATIC for a flag with no rules and no progressive rollout,
//     DEFAULT otherwise.
//
// A progressive rollout whose share in st is above 0 takes its share of the users that a rollout or the
// default would decide (3 and 4, not the fixed variants): a subject whose bucket is below the share gets
// the progressive variant, SPLIT; the others go on as if there were no progressive rollout. Rollouts and
// the progressive rollout of one flag hash the same bucket, so a subject who has the progressive variant
// keeps it as the share grows.
//
// A split needs the attribute it buckets by: without a non-empty targetingKey the result is the error
// TARGETING_KEY_MISSING; a bucket_by attribute that is not a string is INVALID_CONTEXT. A missing, null or
// empty bucket_by attribute leaves the subject out of the split, as flagd does: a rollout rule reached
// serves the default variant (DEFAULT), and the progressive rollout passes the subject on.
// ctx may be nil. Evaluate is safe for concurrent use and, but for errors and object values, does not
// allocate.
func (s *Set) Evaluate(key string, ctx map[string]any, st *State) Result {
	f, ok := s.Flag(key)
	if !ok {
		return failure(key, FlagNotFound, fmt.Sprintf("flag %q not found", key))
	}
	return f.evaluate(ctx, st)
}

// EvaluateAll evaluates every flag of s, in key order, as Evaluate does.
func (s *Set) EvaluateAll(ctx map[string]any, st *State) []Result {
	if s == nil {
		return []Result{}
	}
	results := make([]Result, len(s.keys))
	for i, k := range s.keys {
		results[i] = s.flags[k].evaluate(ctx, st)
	}
	return results
}

func (f *Flag) evaluate(ctx map[string]any, st *State) Result {
	if name, ok := st.override(f.key); ok {
		i, ok := f.index[name]
		if !ok {
			return failure(f.key, General, fmt.Sprintf("the override of flag %q names %q, which is not one of its variants (%s)",
				f.key, name, strings.Join(f.names, ", ")))
		}
		r := f.result(i, Static)
		r.Metadata = map[string]any{"override": true}
		return r
	}
	if f.disabled {
		return f.result(f.def, Disabled)
	}
	for i := range f.rules {
		r := &f.rules[i]
		if r.cond != nil && !r.cond.match(ctx) {
			continue
		}
		if r.split == nil {
			return f.result(r.variant, TargetingMatch)
		}
		if res, decided := f.progressive(ctx, st); decided {
			return res
		}
		b, fail, ok := f.bucket(ctx)
		switch {
		case fail.ErrorCode != "":
			return fail
		case !ok:
			// No bucket_by attribute: the split cannot place the subject, so the flag serves its default,
			// as flagd does when fractional's bucketing value is missing.
			return f.result(f.def, Default)
		}
		return f.result(r.split.pick(b), Split)
	}
	if res, decided := f.progressive(ctx, st); decided {
		return res
	}
	if len(f.rules) == 0 && f.prog == nil {
		return f.result(f.def, Static)
	}
	return f.result(f.def, Default)
}

// progressive gives the progressive variant to a subject whose bucket is below the share in st. decided is
// false when it does not (no progressive rollout, share 0, or a bucket at or above the share).
func (f *Flag) progressive(ctx map[string]any, st *State) (res Result, decided bool) {
	if f.prog == nil {
		return Result{}, false
	}
	share := st.progress(f.key)
	switch {
	case share <= 0:
		return Result{}, false
	case share >= BucketCount:
		return f.result(f.prog.variant, Split), true
	}
	b, fail, ok := f.bucket(ctx)
	switch {
	case fail.ErrorCode != "":
		return fail, true
	case !ok:
		return Result{}, false
	}
	if b < share {
		return f.result(f.prog.variant, Split), true
	}
	return Result{}, false
}

// bucket returns the bucket of the subject of ctx for f. ok is false when there is none: then fail is the
// failed Result (no targetingKey, or a bucket_by attribute that is not a string), or has no ErrorCode when
// the bucket_by attribute is missing, null or empty, which leaves the subject out of the split.
func (f *Flag) bucket(ctx map[string]any) (b int, fail Result, ok bool) {
	attr := f.BucketBy()
	v, present := ctx[attr]
	s, isString := v.(string)
	switch {
	case isString && s != "":
		return Bucket(f.key, s), Result{}, true
	case f.bucketBy == "" && (!present || v == nil || isString):
		return 0, failure(f.key, TargetingKeyMissing,
			fmt.Sprintf("flag %q splits users by targetingKey; send a non-empty targetingKey in the evaluation context", f.key)), false
	case !present || v == nil || isString:
		return 0, Result{}, false
	}
	return 0, failure(f.key, InvalidContext,
		fmt.Sprintf("flag %q splits users by the attribute %q, which must be a string, not %s", f.key, attr, jsonType(v))), false
}

func (f *Flag) result(i int, reason Reason) Result {
	return Result{Key: f.key, Variant: f.names[i], Value: f.value(i), Reason: reason}
}

func failure(key string, code ErrorCode, msg string) Result {
	return Result{Key: key, Reason: ErrorReason, ErrorCode: code, ErrorMessage: msg}
}

// jsonType names the JSON type of a context value for messages.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "true/false"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	if _, ok := toFloat(v); ok {
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}
