package flags

import (
	"encoding/json"
	"testing"

	"go.yaml.in/yaml/v3"
)

// compile reads src as one condition, failing t on any problem.
func compile(t testing.TB, src string) *cond {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("yaml %q: %v", src, err)
	}
	p := newParser("c.yaml")
	c := p.condition(doc.Content[0])
	if len(p.List) > 0 || c == nil {
		t.Fatalf("condition %q: %v", src, p.List)
	}
	return c
}

func TestOperators(t *testing.T) {
	// Each operator is tried with a value that meets it, one that does not, a value of the wrong type and
	// a missing attribute; every operator but present is false for the last two.
	tests := []struct {
		cond string
		val  any // the value of attribute "a"; missing when it is the missing sentinel
		want bool
	}{
		{`{attribute: a, equals: "x"}`, "x", true},
		{`{attribute: a, equals: "x"}`, "y", false},
		{`{attribute: a, equals: "1"}`, 1.0, false},
		{`{attribute: a, equals: "x"}`, missing{}, false},
		{`{attribute: a, equals: 42}`, 42.0, true},
		{`{attribute: a, equals: 42}`, 42, true}, // a Go int from a hand-built context
		{`{attribute: a, equals: 42}`, "42", false},
		{`{attribute: a, equals: true}`, true, true},
		{`{attribute: a, equals: true}`, false, false},
		{`{attribute: a, equals: true}`, "true", false},
		{`{attribute: a, equals: 2024-01-01}`, "2024-01-01", true},

		{`{attribute: a, not_equals: "x"}`, "y", true},
		{`{attribute: a, not_equals: "x"}`, "x", false},
		{`{attribute: a, not_equals: "x"}`, 5.0, false},
		{`{attribute: a, not_equals: "x"}`, missing{}, false},
		{`{attribute: a, not_equals: "x"}`, nil, false},

		{`{attribute: a, one_of: [de, fr]}`, "fr", true},
		{`{attribute: a, one_of: [de, fr]}`, "it", false},
		{`{attribute: a, one_of: [de, fr]}`, 1.0, false},
		{`{attribute: a, one_of: [de, fr]}`, missing{}, false},
		{`{attribute: a, one_of: [1, 2.5, "x", true]}`, 2.5, true},
		{`{attribute: a, one_of: [1, 2.5, "x", true]}`, true, true},
		{`{attribute: a, one_of: [1, 2.5, "x", true]}`, false, false},

		{`{attribute: a, not_one_of: [de, fr]}`, "it", true},
		{`{attribute: a, not_one_of: [de, fr]}`, "de", false},
		{`{attribute: a, not_one_of: [de, fr]}`, 3.0, false},
		{`{attribute: a, not_one_of: [de, fr]}`, missing{}, false},
		{`{attribute: a, not_one_of: [1, 2]}`, 3.0, true},

		{`{attribute: a, starts_with: "https://"}`, "https://x", true},
		{`{attribute: a, starts_with: "https://"}`, "http://x", false},
		{`{attribute: a, starts_with: "1"}`, 12.0, false},
		{`{attribute: a, starts_with: "https://"}`, missing{}, false},
		{`{attribute: a, ends_with: "@example.com"}`, "ann@example.com", true},
		{`{attribute: a, ends_with: "@example.com"}`, "ann@example.org", false},
		{`{attribute: a, ends_with: "@example.com"}`, []any{"ann@example.com"}, false},
		{`{attribute: a, ends_with: "@example.com"}`, missing{}, false},
		{`{attribute: a, contains: beta}`, "x-beta-y", true},
		{`{attribute: a, contains: beta}`, "x-BETA-y", false}, // case matters
		{`{attribute: a, contains: beta}`, map[string]any{"beta": 1.0}, false},
		{`{attribute: a, contains: beta}`, missing{}, false},

		{`{attribute: a, gt: 10}`, 10.5, true},
		{`{attribute: a, gt: 10}`, 10.0, false},
		{`{attribute: a, gt: 10}`, "11", true}, // a string holding a number is compared as one
		{`{attribute: a, gt: 10}`, "eleven", false},
		{`{attribute: a, gt: 10}`, true, false},
		{`{attribute: a, gt: 10}`, missing{}, false},
		{`{attribute: a, gte: 10}`, 10.0, true},
		{`{attribute: a, gte: 10}`, 9.99, false},
		{`{attribute: a, gte: 10}`, "NaN", false},
		{`{attribute: a, gte: 10}`, missing{}, false},
		{`{attribute: a, lt: -1.5}`, -2.0, true},
		{`{attribute: a, lt: -1.5}`, -1.5, false},
		{`{attribute: a, lt: -1.5}`, "x", false},
		{`{attribute: a, lt: -1.5}`, missing{}, false},
		{`{attribute: a, lte: 0}`, 0.0, true},
		{`{attribute: a, lte: 0}`, json.Number("0.1"), false},
		{`{attribute: a, lte: 0}`, "Inf", false},
		{`{attribute: a, lte: 0}`, missing{}, false},

		{`{attribute: a, semver_eq: 1.2.3}`, "1.2.3", true},
		{`{attribute: a, semver_eq: 1.2.3}`, "v1.2.3+build.5", true}, // build metadata has no precedence
		{`{attribute: a, semver_eq: 1.2.3}`, "1.2.4", false},
		{`{attribute: a, semver_eq: 1.2.3}`, "not-a-version", false},
		{`{attribute: a, semver_eq: 1.2.3}`, missing{}, false},
		{`{attribute: a, semver_eq: 1.0.0}`, "1", true}, // partial versions from apps, as flagd reads them
		{`{attribute: a, semver_eq: 1.0.0}`, 1.0, true},
		{`{attribute: a, semver_gt: 2.0.0}`, "2.0.1", true},
		{`{attribute: a, semver_gt: 2.0.0}`, "2.0.0-rc.1", false},
		{`{attribute: a, semver_gt: 2.0.0}`, "2.0.0.0", false},
		{`{attribute: a, semver_gt: 2.0.0}`, missing{}, false},
		{`{attribute: a, semver_gte: 2.0.0-rc.1}`, "2.0.0-rc.2", true},
		{`{attribute: a, semver_gte: 2.0.0-rc.1}`, "2.0.0-beta.9", false},
		{`{attribute: a, semver_gte: 2.0.0-rc.1}`, true, false},
		{`{attribute: a, semver_gte: 2.0.0-rc.1}`, missing{}, false},
		{`{attribute: a, semver_lt: 1.10.0}`, "1.9.12", true},
		{`{attribute: a, semver_lt: 1.10.0}`, "1.10.0", false},
		{`{attribute: a, semver_lt: 1.10.0}`, "01.2.3", false},
		{`{attribute: a, semver_lt: 1.10.0}`, missing{}, false},
		{`{attribute: a, semver_lte: 1.10.0}`, "1.10.0", true},
		{`{attribute: a, semver_lte: 1.10.0}`, "1.10.1", false},
		{`{attribute: a, semver_lte: 1.10.0}`, -1.0, false},
		{`{attribute: a, semver_lte: 1.10.0}`, missing{}, false},
		// flagd-testbed's semver-numeric-context-flag (version > 1.1): a JSON number is the version JSON
		// writes, so 1.2 is 1.2.0 and 2 is 2.0.0; 1.10 is the number 1.1.
		{`{attribute: a, semver_gt: 1.1.0}`, 1.2, true},
		{`{attribute: a, semver_gt: 1.1.0}`, 1.1, false},
		{`{attribute: a, semver_gt: 1.1.0}`, 2.0, true},
		{`{attribute: a, semver_gt: 1.1.0}`, 1.0, false},
		{`{attribute: a, semver_gt: 1.1.0}`, "1.2", true},
		{`{attribute: a, semver_eq: 1.1.0}`, 1.10, true},
		{`{attribute: a, semver_eq: 1.2.0}`, json.Number("1.2"), true},
		{`{attribute: a, semver_gt: 1.1.0}`, 1e21, false}, // "1e+21" is no version, in flagd either

		{`{attribute: a, matches: "^user-[0-9]+$"}`, "user-42", true},
		{`{attribute: a, matches: "^user-[0-9]+$"}`, "user-x", false},
		{`{attribute: a, matches: "[0-9]"}`, 42.0, false},
		{`{attribute: a, matches: "[0-9]"}`, missing{}, false},
		{`{attribute: a, matches: "beta"}`, "is-beta-tester", true}, // unanchored, as in Go

		{`{attribute: a, present: true}`, "", true},
		{`{attribute: a, present: true}`, 0.0, true},
		{`{attribute: a, present: true}`, nil, false}, // null is absent
		{`{attribute: a, present: true}`, missing{}, false},
		{`{attribute: a, present: false}`, missing{}, true},
		{`{attribute: a, present: false}`, nil, true},
		{`{attribute: a, present: false}`, "x", false},
	}
	for _, tt := range tests {
		c := compile(t, tt.cond)
		ctx := map[string]any{"other": "x"}
		if _, ok := tt.val.(missing); !ok {
			ctx["a"] = tt.val
		}
		if got := c.match(ctx); got != tt.want {
			t.Errorf("%s with a = %#v: got %v, want %v", tt.cond, tt.val, got, tt.want)
		}
	}
}

// missing stands for an attribute left out of the context.
type missing struct{}

func TestCombinators(t *testing.T) {
	ctx := map[string]any{"email": "ann@example.com", "plan": "pro", "age": 30.0}
	tests := []struct {
		cond string
		want bool
	}{
		{`{all: [{attribute: plan, equals: pro}, {attribute: age, gte: 18}]}`, true},
		{`{all: [{attribute: plan, equals: pro}, {attribute: age, gte: 40}]}`, false},
		{`{any: [{attribute: plan, equals: free}, {attribute: age, gte: 18}]}`, true},
		{`{any: [{attribute: plan, equals: free}, {attribute: age, gte: 40}]}`, false},
		{`{not: {attribute: plan, equals: free}}`, true},
		{`{not: {attribute: plan, equals: pro}}`, false},
		// not inverts everything, so it is true when the attribute is missing, unlike not_equals.
		{`{not: {attribute: country, equals: de}}`, true},
		{`{attribute: country, not_equals: de}`, false},
		{`{all: [{any: [{attribute: email, ends_with: "@example.com"}, {attribute: plan, equals: beta}]}, {not: {attribute: age, lt: 18}}]}`, true},
		{`{not: {not: {attribute: plan, present: true}}}`, true},
	}
	for _, tt := range tests {
		if got := compile(t, tt.cond).match(ctx); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.cond, got, tt.want)
		}
	}
	// A nil context is an empty one.
	if compile(t, `{attribute: a, present: false}`).match(nil) != true {
		t.Error("present: false on a nil context: got false")
	}
}
