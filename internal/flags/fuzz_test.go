package flags

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
)

var knownReasons = []Reason{Static, TargetingMatch, Split, Default, Disabled, ErrorReason}

var knownCodes = []ErrorCode{"", FlagNotFound, TargetingKeyMissing, InvalidContext, General}

// FuzzEvaluate evaluates a fixed set of flags for arbitrary contexts: it must never panic, and always
// return a known reason and error code, a variant of the flag with its value, and the same result twice.
func FuzzEvaluate(f *testing.F) {
	s := mustParse(f, evalFlags)
	rich := mustParse(f, everything)
	for _, seed := range []string{
		`{}`,
		`{"targetingKey": "user-1"}`,
		`{"targetingKey": "", "email": "a@example.com"}`,
		`{"targetingKey": 7, "plan": "pro", "org": null}`,
		`{"country": "de", "org": "acme", "tier": "pinned"}`,
		`{"s": "é", "n": 1e21, "v": "1.2.3-rc.1+b", "p": [], "org": {"a": 1}}`,
		`{"v": "99999999999999999999.0.0", "n": "1e400", "s": "\u0000"}`,
		`[1, 2]`,
		`null`,
	} {
		f.Add([]byte(seed))
	}
	states := []*State{
		nil,
		{Progress: map[string]int{"progressive": 5000, "progressive-split": 1, "conditions": 9999}},
		{Progress: map[string]int{"progressive": 10000, "conditions": -1}},
		{Overrides: map[string]string{"static": "a", "split": "nope", "objects": "x", "disabled": "on"}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, useNumber := range []bool{false, true} {
			dec := json.NewDecoder(bytes.NewReader(data))
			if useNumber {
				dec.UseNumber()
			}
			var ctx map[string]any
			if dec.Decode(&ctx) != nil {
				return
			}
			for _, set := range []*Set{s, rich} {
				for _, st := range states {
					for _, key := range append(set.Keys(), "missing") {
						r := set.Evaluate(key, ctx, st)
						checkResult(t, set, key, r)
						if again := set.Evaluate(key, ctx, st); !reflect.DeepEqual(again, r) {
							t.Fatalf("%s: %+v, then %+v", key, r, again)
						}
					}
				}
			}
		}
	})
}

// checkResult fails t unless r is a well-formed result of evaluating key in s.
func checkResult(t *testing.T, s *Set, key string, r Result) {
	t.Helper()
	if r.Key != key || !slices.Contains(knownReasons, r.Reason) || !slices.Contains(knownCodes, r.ErrorCode) {
		t.Fatalf("%s: %+v", key, r)
	}
	if r.ErrorCode != "" {
		if r.Reason != ErrorReason || r.Variant != "" || r.Value != nil || r.ErrorMessage == "" {
			t.Fatalf("%s: malformed error %+v", key, r)
		}
		return
	}
	f, ok := s.Flag(key)
	if !ok || r.Reason == ErrorReason || r.ErrorMessage != "" {
		t.Fatalf("%s: %+v", key, r)
	}
	want, ok := f.Value(r.Variant)
	if !ok || !reflect.DeepEqual(r.Value, want) {
		t.Fatalf("%s: variant %q with value %#v, want %#v", key, r.Variant, r.Value, want)
	}
}

// FuzzParse parses arbitrary files: it must never panic; it returns either a sorted, non-empty ErrorList or
// a Set that survives the JSON round trip unchanged.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{evalFlags, everything, flag1, "", "flags:\n", "flags: &a {x: *a}\n",
		flag1 + "    rules:\n      - rollout: {on: 10%, off: 90%}\n    progressive: {variant: on, steps: [1%], interval: 1s}\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(FileName, data)
		if err != nil {
			var list ErrorList
			if s != nil || !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse = %v, %#v; want no Set and a non-empty ErrorList", s, err)
			}
			if !slices.IsSortedFunc(list, func(a, b *Error) int {
				if a.Line != b.Line {
					return a.Line - b.Line
				}
				return a.Col - b.Col
			}) {
				t.Fatalf("errors are not sorted:\n%v", err)
			}
			return
		}
		out, err := s.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		var back Set
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("UnmarshalJSON: %v\n%s", err, out)
		}
		if again, _ := back.MarshalJSON(); !bytes.Equal(again, out) {
			t.Fatalf("round trip changed the Set:\n%s\n%s", out, again)
		}
		for _, key := range s.Keys() {
			r := s.Evaluate(key, map[string]any{TargetingKey: "fuzz"}, nil)
			checkResult(t, s, key, r)
			if b := back.Evaluate(key, map[string]any{TargetingKey: "fuzz"}, nil); !reflect.DeepEqual(b, r) {
				t.Fatalf("%s after the round trip: %+v, want %+v", key, b, r)
			}
		}
	})
}
