package flags

import "testing"

const benchFlags = `flags:
  targeted:
    variants: {on: true, off: false}
    default: off
    rules:
      - if: {attribute: email, ends_with: "@example.com"}
        variant: on
      - rollout: {on: 10%, off: 90%}
  split:
    variants: {a: "A", b: "B", c: "C"}
    default: a
    rules:
      - rollout: {a: 33.33%, b: 33.33%, c: 33.34%}
  static:
    variants: {on: true, off: false}
    default: on
`

// benchContext is a typical OFREP context: it misses the targeting rule and goes on to the split.
var benchContext = map[string]any{
	TargetingKey: "6f1c2a7e-8d4b-4e3a-9b1f-2c5d7e9a0b3c",
	"email":      "ann@example.org",
	"plan":       "pro",
	"country":    "de",
}

func benchEvaluate(b *testing.B, key string, want Reason) {
	s := mustParse(b, benchFlags)
	if r := s.Evaluate(key, benchContext, nil); r.Reason != want {
		b.Fatalf("%s: %+v, want reason %s", key, r, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Evaluate(key, benchContext, nil)
	}
}

func BenchmarkEvaluateTargeted(b *testing.B) { benchEvaluate(b, "targeted", Split) }
func BenchmarkEvaluateSplit(b *testing.B)    { benchEvaluate(b, "split", Split) }
func BenchmarkEvaluateStatic(b *testing.B)   { benchEvaluate(b, "static", Static) }

// TestEvaluateAllocs keeps the hot paths allocation-free.
func TestEvaluateAllocs(t *testing.T) {
	s := mustParse(t, benchFlags)
	st := &State{Progress: map[string]int{"x": 1}}
	for _, key := range []string{"targeted", "split", "static"} {
		if n := testing.AllocsPerRun(100, func() { s.Evaluate(key, benchContext, st) }); n != 0 {
			t.Errorf("Evaluate(%q) allocates %v times", key, n)
		}
	}
	matched := map[string]any{"email": "ann@example.com"}
	if n := testing.AllocsPerRun(100, func() { s.Evaluate("targeted", matched, nil) }); n != 0 {
		t.Errorf("Evaluate(targeted) with a targeting match allocates %v times", n)
	}
}
