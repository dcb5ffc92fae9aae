package flags

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// mustParse parses a flags file or fails t.
func mustParse(t testing.TB, src string) *Set {
	t.Helper()
	s, err := Parse(FileName, []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return s
}

const evalFlags = `flags:
  static:
    variants: {a: "A", b: "B"}
    default: b
  ordered:
    variants: {first: 1, second: 2, third: 3}
    default: third
    rules:
      - if: {attribute: plan, equals: pro}
        variant: first
      - if: {attribute: email, ends_with: "@example.com"}
        variant: second
      - if: {attribute: plan, present: true}
        variant: first
  split:
    variants: {on: true, off: false}
    default: off
    rules:
      - if: {attribute: email, ends_with: "@example.com"}
        variant: on
      - rollout: {on: 10%, off: 90%}
  by-org:
    variants: {on: true, off: false}
    default: off
    bucket_by: org
    rules:
      - if: {attribute: country, equals: de}
        rollout: {on: 50%, off: 50%}
  disabled:
    variants: {on: true, off: false}
    default: off
    disabled: true
    rules:
      - variant: on
  progressive:
    variants: {new: "new", old: "old", pinned: "pinned"}
    default: old
    rules:
      - if: {attribute: tier, equals: pinned}
        variant: pinned
    progressive: {variant: new, steps: [1%, 50%, 100%], interval: 1h}
  progressive-by-org:
    variants: {new: "new", old: "old"}
    default: old
    bucket_by: org
    progressive: {variant: new, steps: [1%, 50%, 100%], interval: 1h}
  progressive-split:
    variants: {on: true, off: false}
    default: off
    rules:
      - rollout: {on: 10%, off: 90%}
    progressive: {variant: on, steps: [1%, 50%, 100%], interval: 1h}
`

func TestEvaluate(t *testing.T) {
	s := mustParse(t, evalFlags)
	tests := []struct {
		name    string
		key     string
		ctx     map[string]any
		st      *State
		variant string
		value   any
		reason  Reason
		code    ErrorCode
	}{
		{"static", "static", nil, nil, "b", "B", Static, ""},
		{"first rule wins", "ordered", map[string]any{"plan": "pro", "email": "a@example.com"}, nil, "first", 1.0, TargetingMatch, ""},
		{"second rule", "ordered", map[string]any{"plan": "free", "email": "a@example.com"}, nil, "second", 2.0, TargetingMatch, ""},
		{"third rule", "ordered", map[string]any{"plan": "free"}, nil, "first", 1.0, TargetingMatch, ""},
		{"no rule matches", "ordered", map[string]any{"email": "a@example.org"}, nil, "third", 3.0, Default, ""},
		{"targeting before split", "split", map[string]any{"email": "a@example.com"}, nil, "on", true, TargetingMatch, ""},
		{"split without key", "split", map[string]any{"email": "a@example.org"}, nil, "", nil, ErrorReason, TargetingKeyMissing},
		{"split with empty key", "split", map[string]any{TargetingKey: ""}, nil, "", nil, ErrorReason, TargetingKeyMissing},
		{"split with a number key", "split", map[string]any{TargetingKey: 42.0}, nil, "", nil, ErrorReason, InvalidContext},
		// Bucket("by-org", "acme") is 2793 and Bucket("by-org", "v") 9128 (TestKnownBuckets): org decides.
		{"bucket_by matched", "by-org", map[string]any{"country": "de", "org": "acme", TargetingKey: "v"}, nil, "on", true, Split, ""},
		// As flagd's fractional without its bucketing value: the split places nobody, the default is served.
		{"bucket_by missing", "by-org", map[string]any{"country": "de", TargetingKey: "u"}, nil, "off", false, Default, ""},
		{"bucket_by null", "by-org", map[string]any{"country": "de", "org": nil}, nil, "off", false, Default, ""},
		{"bucket_by empty", "by-org", map[string]any{"country": "de", "org": ""}, nil, "off", false, Default, ""},
		{"progressive bucket_by missing", "progressive-by-org", map[string]any{TargetingKey: "u"}, &State{Progress: map[string]int{"progressive-by-org": 5000}}, "old", "old", Default, ""},
		// Bucket("progressive-by-org", "a") is 1286, below the share.
		{"progressive bucket_by given", "progressive-by-org", map[string]any{"org": "a"}, &State{Progress: map[string]int{"progressive-by-org": 5000}}, "new", "new", Split, ""},
		{"bucket_by not a string", "by-org", map[string]any{"country": "de", "org": true}, nil, "", nil, ErrorReason, InvalidContext},
		{"bucket_by not needed", "by-org", map[string]any{"country": "fr"}, nil, "off", false, Default, ""},
		{"disabled", "disabled", nil, nil, "off", false, Disabled, ""},
		{"not found", "nope", nil, nil, "", nil, ErrorReason, FlagNotFound},
		// Overrides win over everything, disabled included.
		{"override", "split", map[string]any{"email": "a@example.com"}, &State{Overrides: map[string]string{"split": "off"}}, "off", false, Static, ""},
		{"override of disabled", "disabled", nil, &State{Overrides: map[string]string{"disabled": "on"}}, "on", true, Static, ""},
		{"override of another flag", "static", nil, &State{Overrides: map[string]string{"split": "off"}}, "b", "B", Static, ""},
		{"override of an unknown variant", "static", nil, &State{Overrides: map[string]string{"static": "c"}}, "", nil, ErrorReason, General},
		// Progressive: share 0 (or no state) changes nothing and needs no key.
		{"progressive not started", "progressive", nil, nil, "old", "old", Default, ""},
		{"progressive at 0", "progressive", nil, &State{Progress: map[string]int{"progressive": 0}}, "old", "old", Default, ""},
		{"progressive at 100%", "progressive", nil, &State{Progress: map[string]int{"progressive": 10000}}, "new", "new", Split, ""},
		{"progressive over 100%", "progressive", nil, &State{Progress: map[string]int{"progressive": 20000}}, "new", "new", Split, ""},
		{"progressive below 0", "progressive", nil, &State{Progress: map[string]int{"progressive": -5}}, "old", "old", Default, ""},
		{"progressive needs a key", "progressive", nil, &State{Progress: map[string]int{"progressive": 100}}, "", nil, ErrorReason, TargetingKeyMissing},
		{"fixed rules stay pinned", "progressive", map[string]any{"tier": "pinned"}, &State{Progress: map[string]int{"progressive": 10000}}, "pinned", "pinned", TargetingMatch, ""},
		{"progressive over a rollout", "progressive-split", nil, &State{Progress: map[string]int{"progressive-split": 10000}}, "on", true, Split, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Evaluate(tt.key, tt.ctx, tt.st)
			if r.Key != tt.key || r.Variant != tt.variant || !reflect.DeepEqual(r.Value, tt.value) || r.Reason != tt.reason || r.ErrorCode != tt.code {
				t.Errorf("Evaluate = %+v\nwant variant %q, value %#v, reason %s, code %q", r, tt.variant, tt.value, tt.reason, tt.code)
			}
			if (r.ErrorCode == "") != (r.ErrorMessage == "") {
				t.Errorf("error code %q with message %q", r.ErrorCode, r.ErrorMessage)
			}
			override := tt.st != nil && tt.st.Overrides[tt.key] != "" && r.ErrorCode == ""
			if wantMeta := map[string]any{"override": true}; override != reflect.DeepEqual(r.Metadata, wantMeta) {
				t.Errorf("metadata %v for an override: %v", r.Metadata, override)
			}
		})
	}
}

func TestEvaluateMessages(t *testing.T) {
	s := mustParse(t, evalFlags)
	for _, tt := range []struct {
		key string
		ctx map[string]any
		st  *State
		msg string
	}{
		{"nope", nil, nil, `flag "nope" not found`},
		{"split", nil, nil, `flag "split" splits users by targetingKey; send a non-empty targetingKey in the evaluation context`},
		{"split", map[string]any{TargetingKey: 42.0}, nil, `flag "split" splits users by the attribute "targetingKey", which must be a string, not a number`},
		{"by-org", map[string]any{"country": "de"}, nil, ""},
		{"by-org", map[string]any{"country": "de", "org": 7.0}, nil, `flag "by-org" splits users by the attribute "org", which must be a string, not a number`},
		{"static", nil, &State{Overrides: map[string]string{"static": "c"}}, `the override of flag "static" names "c", which is not one of its variants (a, b)`},
	} {
		if r := s.Evaluate(tt.key, tt.ctx, tt.st); r.ErrorMessage != tt.msg {
			t.Errorf("Evaluate(%q, %v) message %q, want %q", tt.key, tt.ctx, r.ErrorMessage, tt.msg)
		}
	}
	if err := s.CheckOverride("static", "c"); err == nil || err.Error() != `flag "static" has no variant "c" (variants: a, b)` {
		t.Errorf("CheckOverride(static, c) = %v", err)
	}
	if err := s.CheckOverride("nope", "a"); err == nil || err.Error() != `no flag "nope"` {
		t.Errorf("CheckOverride(nope, a) = %v", err)
	}
	if err := s.CheckOverride("static", "a"); err != nil {
		t.Errorf("CheckOverride(static, a) = %v", err)
	}
}

func TestEvaluateAll(t *testing.T) {
	s := mustParse(t, evalFlags)
	ctx := map[string]any{TargetingKey: "user-1", "email": "a@example.org"}
	all := s.EvaluateAll(ctx, nil)
	var keys []string
	for i, r := range all {
		keys = append(keys, r.Key)
		if one := s.Evaluate(r.Key, ctx, nil); !reflect.DeepEqual(one, r) {
			t.Errorf("EvaluateAll[%d] = %+v, Evaluate = %+v", i, r, one)
		}
	}
	if !reflect.DeepEqual(keys, s.Keys()) {
		t.Errorf("EvaluateAll keys %v, want %v", keys, s.Keys())
	}
	var nilSet *Set
	if r := nilSet.Evaluate("a", nil, nil); r.ErrorCode != FlagNotFound {
		t.Errorf("nil Set: %+v", r)
	}
	if all := nilSet.EvaluateAll(nil, nil); all == nil || len(all) != 0 {
		t.Errorf("nil Set EvaluateAll = %#v, want an empty slice", all)
	}
}

func TestObjectValuesAreCopies(t *testing.T) {
	s := mustParse(t, "flags:\n  o:\n    variants: {x: {k: [1, {n: v}]}}\n    default: x\n")
	r := s.Evaluate("o", nil, nil)
	r.Value.(map[string]any)["k"].([]any)[1].(map[string]any)["n"] = "changed"
	if again := s.Evaluate("o", nil, nil); !reflect.DeepEqual(again.Value, map[string]any{"k": []any{1.0, map[string]any{"n": "v"}}}) {
		t.Errorf("a caller changed the Set: %#v", again.Value)
	}
}

// TestSticky checks that a subject keeps its variant across evaluations, Sets parsed separately, and the
// JSON round trip, and that growing a progressive share only ever adds subjects to the progressive variant.
func TestSticky(t *testing.T) {
	s := mustParse(t, evalFlags)
	again := mustParse(t, evalFlags)
	st := &State{Progress: map[string]int{"progressive": 5000, "progressive-split": 5000}}
	for i := range 2000 {
		ctx := map[string]any{TargetingKey: fmt.Sprintf("user-%d", i)}
		for _, key := range []string{"split", "progressive", "progressive-split"} {
			a, b := s.Evaluate(key, ctx, st), again.Evaluate(key, ctx, st)
			if a.Variant != b.Variant || a.Variant != s.Evaluate(key, ctx, st).Variant {
				t.Fatalf("%s for %v: %s, then %s", key, ctx, a.Variant, b.Variant)
			}
		}
		prev := false
		for share := 0; share <= BucketCount; share += 250 {
			r := s.Evaluate("progressive", ctx, &State{Progress: map[string]int{"progressive": share}})
			got := r.Variant == "new"
			if prev && !got {
				t.Fatalf("%v lost the progressive variant when the share grew to %d", ctx, share)
			}
			prev = got
		}
		// A rollout and the progressive rollout of one flag share the subject's bucket: those the rollout
		// gives "on" (buckets 0 to 999) keep it at any share.
		if s.Evaluate("progressive-split", ctx, nil).Variant == "on" {
			for _, share := range []int{0, 100, 5000, 10000} {
				if v := s.Evaluate("progressive-split", ctx, &State{Progress: map[string]int{"progressive-split": share}}).Variant; v != "on" {
					t.Fatalf("%v: on by the rollout, %s at share %d", ctx, v, share)
				}
			}
		}
	}
}

func TestDistribution(t *testing.T) {
	const n = 100_000
	s := mustParse(t, `flags:
  ten:
    variants: {on: true, off: false}
    default: off
    rules:
      - rollout: {on: 10%, off: 90%}
  thirds:
    variants: {a: a, b: b, c: c}
    default: a
    rules:
      - rollout: {a: 33.33%, b: 33.33%, c: 33.34%}
  tiny:
    variants: {on: true, off: false}
    default: off
    rules:
      - rollout: {on: 0.01%, off: 99.99%}
  half:
    variants: {on: true, off: false}
    default: off
    progressive: {variant: on, steps: [50%], interval: 1m}
`)
	st := &State{Progress: map[string]int{"half": 5000}}
	counts := map[string]map[string]int{}
	for i := range n {
		ctx := map[string]any{TargetingKey: fmt.Sprintf("user-%d", i)}
		for _, key := range s.Keys() {
			r := s.Evaluate(key, ctx, st)
			// Those the progressive rollout leaves out get the default as if it were not there: DEFAULT.
			if r.Reason != Split && (key != "half" || r.Reason != Default || r.Variant != "off") {
				t.Fatalf("%s: %+v", key, r)
			}
			if counts[key] == nil {
				counts[key] = map[string]int{}
			}
			counts[key][r.Variant]++
		}
	}
	for _, tt := range []struct {
		key, variant string
		share        float64
	}{
		{"ten", "on", 0.10}, {"ten", "off", 0.90},
		{"thirds", "a", 0.3333}, {"thirds", "b", 0.3333}, {"thirds", "c", 0.3334},
		{"tiny", "on", 0.0001},
		{"half", "on", 0.5},
	} {
		// Within 4.5 standard deviations of a binomial: a fair hash fails this about once in 150 000 runs;
		// and the keys are fixed, so the test is deterministic anyway.
		want := tt.share * n
		tol := 4.5 * math.Sqrt(n*tt.share*(1-tt.share))
		if got := float64(counts[tt.key][tt.variant]); math.Abs(got-want) > tol {
			t.Errorf("%s: %s for %.0f of %d subjects, want %.0f ± %.0f", tt.key, tt.variant, got, n, want, tol)
		}
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	s := mustParse(t, evalFlags)
	st := &State{Progress: map[string]int{"progressive": 5000}, Overrides: map[string]string{"static": "a"}}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				ctx := map[string]any{TargetingKey: fmt.Sprintf("u-%d-%d", g, i), "email": "x@example.org"}
				for _, r := range s.EvaluateAll(ctx, st) {
					if r.ErrorCode != "" {
						t.Errorf("%s: %s", r.Key, r.ErrorMessage)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestTypeString(t *testing.T) {
	var got []string
	for _, ty := range []Type{0, Bool, String, Number, Object, 9} {
		got = append(got, ty.String())
	}
	if strings.Join(got, " ") != "unknown boolean string number object unknown" {
		t.Errorf("Type names: %v", got)
	}
}

// TestSplitBoundaries checks both sides of a bucket boundary, with user-1, whose bucket for new-checkout is
// 4549 (TestKnownBuckets): a variant's range ends before its cumulative weight.
func TestSplitBoundaries(t *testing.T) {
	ctx := map[string]any{TargetingKey: "user-1"}
	if b := Bucket("new-checkout", "user-1"); b != 4549 {
		t.Fatalf("Bucket = %d", b)
	}
	for _, tt := range []struct {
		rollout string
		want    string
	}{
		{"{on: 45.49%, off: 54.51%}", "off"}, // on holds buckets 0 to 4548
		{"{on: 45.5%, off: 54.5%}", "on"},    // on holds buckets 0 to 4549
		{"{off: 45.49%, on: 54.51%}", "on"},
		{"{off: 45.5%, on: 54.5%}", "off"},
		{"{on: 0%, off: 100%}", "off"},
		{"{on: 100%, off: 0%}", "on"},
	} {
		s := mustParse(t, "flags:\n  new-checkout:\n    variants: {on: true, off: false}\n    default: off\n    rules:\n      - rollout: "+tt.rollout+"\n")
		if r := s.Evaluate("new-checkout", ctx, nil); r.Variant != tt.want || r.Reason != Split {
			t.Errorf("rollout %s: %+v, want %s", tt.rollout, r, tt.want)
		}
	}
	s := mustParse(t, "flags:\n  new-checkout:\n    variants: {on: true, off: false}\n    default: off\n"+
		"    progressive: {variant: on, steps: [50%], interval: 1m}\n")
	for share, want := range map[int]string{4549: "off", 4550: "on", 1: "off", 9999: "on"} {
		r := s.Evaluate("new-checkout", ctx, &State{Progress: map[string]int{"new-checkout": share}})
		if r.Variant != want {
			t.Errorf("progressive share %d: %+v, want %s", share, r, want)
		}
	}
}
