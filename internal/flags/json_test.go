package flags

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// everything uses every operator, combinator and kind of value, with strings that YAML and JSON escape
// differently.
const everything = `flags:
  conditions:
    variants: {a: 1, b: 2, c: 3}
    default: c
    bucket_by: org
    rules:
      - if: {attribute: s, equals: "quote\" back\\ tab\t del\x7f nel\x85 ls\u2028 é 😀 nul\0"}
        variant: a
      - if: {attribute: n, equals: 1e20}
        variant: b
      - if: {attribute: n, equals: 1e21}
        variant: a
      - if: {attribute: n, equals: -0.000001}
        variant: a
      - if: {attribute: b, equals: false}
        variant: b
      - if: {attribute: d, equals: 2024-01-01}
        variant: a
      - if: {attribute: s, not_equals: x}
        variant: b
      - if: {attribute: s, one_of: [x, 2, true, "é"]}
        variant: a
      - if: {attribute: s, not_one_of: [y, 3]}
        variant: b
      - if: {any: [{attribute: s, starts_with: "+"}, {attribute: s, ends_with: 5}, {attribute: s, contains: "\u00a0"}]}
        variant: a
      - if: {all: [{attribute: n, gt: 1.5}, {attribute: n, gte: 2}, {attribute: n, lt: 1e300}, {attribute: n, lte: 9007199254740991}]}
        variant: b
      - if: {not: {any: [{attribute: v, semver_eq: v1.2.3+meta}, {attribute: v, semver_gt: 1.0.0-rc.1}, {attribute: v, semver_gte: 0.0.1}, {attribute: v, semver_lt: 2.0.0}, {attribute: v, semver_lte: 10.0.0}]}}
        variant: a
      - if: {attribute: s, matches: '^\p{L}+\.\d{2,}$|\\'}
        variant: b
      - if: {attribute: p, present: false}
        rollout: {a: 33.33%, b: 33.33%, c: 33.34%}
      - rollout: {c: 0.01%, a: 0%, b: 99.99%}
    progressive: {variant: a, steps: [0.01%, 0.5%, 99.99%, 100%], interval: 1h30m}
  objects:
    variants:
      x: {z: 1, a: [true, null, "s", {k: 1e-7}], "": empty, "1": one}
      y: []
    default: y
    disabled: true
  text:
    variants: {fancy: "v\u2029\u00e9", plain: plain}
    default: fancy
`

func TestJSONRoundTrip(t *testing.T) {
	s := mustParse(t, everything)
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !json.Valid(data) {
		t.Fatalf("Marshal wrote invalid JSON: %s", data)
	}
	var back Set
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("Unmarshal: %v\n%s", err, data)
	}
	again, err := json.Marshal(&back)
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("Marshal after the round trip (%v):\n%s\nwant\n%s", err, again, data)
	}
	// Every flag evaluates the same for a spread of contexts and states.
	values := map[string][]any{
		"s":   {"x", "y", "é", "+1", "a5", "a\u00a0b", "Ab.12", `\`, 2.0, true, "quote\" back\\ tab\t del\x7f nel\x85 ls\u2028 é 😀 nul\x00"},
		"n":   {1e20, 1e21, -0.000001, 1.0, 2.0, 1.6, 9007199254740992.0, "3"},
		"b":   {false, true},
		"d":   {"2024-01-01"},
		"v":   {"1.2.3", "1.0.0", "0.0.0", "3.0.0", "v1.0.0-rc.2", 1.0},
		"p":   {"here"},
		"org": {"acme", "globex", "initech", "umbrella"},
	}
	states := []*State{nil, {Progress: map[string]int{"conditions": 50}}, {Progress: map[string]int{"conditions": 9999}},
		{Overrides: map[string]string{"objects": "x", "text": "plain"}}}
	n := 0
	for attr, vals := range values {
		for _, v := range vals {
			for _, org := range values["org"] {
				ctx := map[string]any{attr: v, "org": org}
				for _, st := range states {
					a, b := s.EvaluateAll(ctx, st), back.EvaluateAll(ctx, st)
					if !reflect.DeepEqual(a, b) {
						t.Fatalf("context %v, state %+v:\n got %+v\nwant %+v", ctx, st, b, a)
					}
					n++
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d evaluations compared", n)
	}
	// The variants' values themselves survive: DeepEqual above compares them, and here is one in full.
	f, _ := back.Flag("objects")
	x, _ := f.Value("x")
	want := map[string]any{"z": 1.0, "a": []any{true, nil, "s", map[string]any{"k": 1e-7}}, "": "empty", "1": "one"}
	if !reflect.DeepEqual(x, want) {
		t.Errorf("objects.x = %#v, want %#v", x, want)
	}
	txt, _ := back.Flag("text")
	if v, _ := txt.Value("fancy"); v != "v\u2029\u00e9" || txt.Default() != "fancy" {
		t.Errorf("text: %q, default %q", v, txt.Default())
	}
}

func TestJSONShape(t *testing.T) {
	s := mustParse(t, flag1+"    rules:\n      - if: {attribute: email, ends_with: \"@example.com\"}\n        variant: on\n"+
		"      - rollout: {on: 33.33%, off: 66.67%}\n    progressive: {variant: on, steps: [1%, 100%], interval: 10m}\n")
	got, err := json.Marshal(struct {
		Flags *Set `json:"flags"`
	}{s})
	want := `{"flags":{"flags":{"a":{"variants":{"on":true,"off":false},"default":"off","rules":[` +
		`{"if":{"attribute":"email","ends_with":"@example.com"},"variant":"on"},{"rollout":{"on":"33.33%","off":"66.67%"}}],` +
		`"progressive":{"variant":"on","steps":["1%","100%"],"interval":"10m0s"}}}}}`
	if err != nil || string(got) != want {
		t.Errorf("Marshal = %s, %v\nwant %s", got, err, want)
	}
	empty, _ := json.Marshal(&Set{})
	var nilSet *Set
	null, _ := nilSet.MarshalJSON()
	if string(empty) != `{"flags":{}}` || string(null) != `{"flags":{}}` {
		t.Errorf("empty Set: %s, nil Set: %s", empty, null)
	}
}

func TestJSONRefusesInvalid(t *testing.T) {
	for _, data := range []string{
		`{"flags":{"a":{"variants":{},"default":"x"}}}`,
		`{"flags":{"a":{"variants":{"on":true},"default":"on","rules":[{"rollout":{"on":"50%"}}]}}}`,
		`{"flags":{"a":{"variants":{"on":true},"default":"on","rules":[{"if":{"attribute":"x","matches":"("},"variant":"on"}]}}}`,
		`[]`,
	} {
		var s Set
		err := json.Unmarshal([]byte(data), &s)
		if err == nil || !strings.HasPrefix(err.Error(), "decode flags: ") {
			t.Errorf("Unmarshal(%s) = %v, want an error", data, err)
		}
	}
	var s Set
	if err := json.Unmarshal([]byte(`{"flags":`), &s); err == nil {
		t.Error("Unmarshal of truncated JSON: no error")
	}
}

// TestJSONStrings writes every character that YAML treats specially inside a JSON string, and reads it back.
func TestJSONStrings(t *testing.T) {
	var sb strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		sb.WriteRune(r)
	}
	sb.WriteString("\ufeff\ufffe\uffff\U0001F600\U0010FFFF")
	all := sb.String()
	w := &jsonWriter{}
	w.raw(`{"flags":{"a":{"variants":{"x":`)
	w.str(all)
	w.raw(`},"default":"x"}}}`)
	var s Set
	if err := s.UnmarshalJSON(w.b); err != nil {
		t.Fatalf("UnmarshalJSON: %v", err)
	}
	f, _ := s.Flag("a")
	if v, _ := f.Value("x"); v != all {
		got := v.(string)
		for i := range min(len(got), len(all)) {
			if got[i] != all[i] {
				t.Fatalf("string differs at byte %d: %q vs %q", i, got[max(0, i-5):min(len(got), i+5)], all[max(0, i-5):i+5])
			}
		}
		t.Fatalf("string of %d bytes came back with %d", len(all), len(got))
	}
	var decoded any
	if err := json.Unmarshal(w.b, &decoded); err != nil {
		t.Fatalf("encoding/json refuses it: %v", err)
	}
	if got := fmt.Sprint(decoded.(map[string]any)["flags"].(map[string]any)["a"].(map[string]any)["variants"].(map[string]any)["x"]); got != all {
		t.Error("encoding/json reads another string")
	}
}

func TestExperimentRoundTrip(t *testing.T) {
	set, err := Parse("f.yaml", []byte("flags:\n  prompt:\n    variants: {a: x, b: y}\n    default: a\n    progressive: {variant: b, experiment: 25%}\n"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"progressive":{"variant":"b","experiment":"25%"}`; !strings.Contains(string(data), want) {
		t.Errorf("JSON %s, want it to contain %s", data, want)
	}
	var back Set
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	f, _ := back.Flag("prompt")
	p, ok := f.Progressive()
	if !ok || !p.Experiment || p.Variant != "b" || len(p.Steps) != 1 || p.Steps[0] != 2500 || p.Interval != 0 {
		t.Errorf("read back %+v", p)
	}
}
