package flags

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// flag1 starts a file with one flag "a" with two boolean variants; tests append its other keys.
const flag1 = "flags:\n  a:\n    variants: {on: true, off: false}\n    default: off\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{{
		"unknown key",
		"flags:\n  a:\n    variants: {on: true, off: false}\n    defualt: off\n",
		[]string{`f.yaml:4:5: unknown key "defualt" in flag "a" (did you mean "default"?)`},
	}, {
		"unknown key far from any",
		flag1 + "    colour: red\n",
		[]string{`f.yaml:5:5: unknown key "colour" in flag "a" (known keys: variants, default, rules, progressive, disabled, bucket_by)`},
	}, {
		"unknown top-level key",
		"flagz: {}\n",
		[]string{`f.yaml:1:1: unknown key "flagz" in the file (did you mean "flags"?)`},
	}, {
		"default not a variant",
		"flags:\n  a:\n    variants: {on: true, off: false}\n    default: of\n",
		[]string{`f.yaml:4:14: default "of" is not a variant of flag "a" (did you mean "on"?)`},
	}, {
		"default far from any variant",
		"flags:\n  a:\n    variants: {on: true, off: false}\n    default: maybe\n",
		[]string{`f.yaml:4:14: default "maybe" is not a variant of flag "a" (variants: on, off)`},
	}, {
		"mixed variant types",
		"flags:\n  a:\n    variants: {on: true, off: \"false\", n: 1}\n    default: on\n",
		[]string{
			`f.yaml:3:31: variant "off" is a string, but variant "on" is a boolean; the variants of a flag all have one type`,
			`f.yaml:3:43: variant "n" is a number, but variant "on" is a boolean; the variants of a flag all have one type`,
		},
	}, {
		"object and string variants",
		"flags:\n  a:\n    variants:\n      x: {k: 1}\n      y: [1, 2]\n      z: text\n    default: x\n",
		[]string{`f.yaml:6:10: variant "z" is a string, but variant "x" is an object; the variants of a flag all have one type`},
	}, {
		"percentages not summing to 100",
		flag1 + "    rules:\n      - rollout: {on: 10%, off: 80%}\n",
		[]string{`f.yaml:6:18: "rollout" weights of rule 1 of flag "a" add up to 90%, not 100%`},
	}, {
		"percentages over 100",
		flag1 + "    rules:\n      - rollout: {on: 33.34%, off: 66.67%}\n",
		[]string{`f.yaml:6:18: "rollout" weights of rule 1 of flag "a" add up to 100.01%, not 100%`},
	}, {
		"weight without percent sign",
		flag1 + "    rules:\n      - rollout: {on: 10, off: 90%}\n",
		[]string{`f.yaml:6:23: the weight of "on" must be a percentage like "10%", not 10; add "%"`},
	}, {
		"weights too fine or too large",
		flag1 + "    rules:\n      - rollout: {on: 0.001%, off: 101%}\n",
		[]string{
			`f.yaml:6:23: the weight of "on" must be a percentage from 0% to 100% with at most two decimals, like "10%" or "0.5%", not "0.001%"`,
			`f.yaml:6:36: the weight of "off" must be a percentage from 0% to 100% with at most two decimals, like "10%" or "0.5%", not "101%"`,
		},
	}, {
		"rollout of an unknown variant",
		flag1 + "    rules:\n      - rollout: {on: 10%, of: 90%}\n",
		[]string{`f.yaml:6:28: rollout variant "of" is not a variant of flag "a" (did you mean "on"?)`},
	}, {
		"bad regex",
		flag1 + "    rules:\n      - if: {attribute: email, matches: \"a(\"}\n        variant: on\n",
		[]string{"f.yaml:6:41: invalid regular expression \"a(\" in \"matches\": missing closing ): `a(` (Go RE2 syntax)"},
	}, {
		"regex Go does not support",
		flag1 + "    rules:\n      - if: {attribute: email, matches: '(?=x)'}\n        variant: on\n",
		[]string{"f.yaml:6:41: invalid regular expression \"(?=x)\" in \"matches\": invalid or unsupported Perl syntax: `(?=` (Go RE2 syntax)"},
	}, {
		"bad semver literal",
		flag1 + "    rules:\n      - if: {attribute: v, semver_gte: 1.2}\n        variant: on\n",
		[]string{`f.yaml:6:40: invalid semantic version "1.2" in "semver_gte": write MAJOR.MINOR.PATCH, like "1.4.0" or "2.0.0-rc.1"`},
	}, {
		"unknown operator",
		flag1 + "    rules:\n      - if: {attribute: email, endswith: x}\n        variant: on\n",
		[]string{`f.yaml:6:32: unknown operator "endswith" in condition (did you mean "ends_with"?)`},
	}, {
		"two operators in one condition",
		flag1 + "    rules:\n      - if: {attribute: email, equals: x, contains: y}\n        variant: on\n",
		[]string{`f.yaml:6:43: condition has two operators, "equals" and "contains"; write one per condition and combine conditions with all: [...]`},
	}, {
		"condition mistakes",
		flag1 + "    rules:\n" +
			"      - if: {all: []}\n        variant: on\n" +
			"      - if: {attribute: a, all: [{attribute: b, present: true}]}\n        variant: on\n" +
			"      - if: {equals: 3}\n        variant: on\n" +
			"      - if: {attribute: a, one_of: []}\n        variant: on\n" +
			"      - if: {attribute: a, gt: \"3\"}\n        variant: on\n" +
			"      - if: {attribute: a, equals: [1]}\n        variant: on\n" +
			"      - if: {attribute: a, present: yes}\n        variant: on\n" +
			"      - if: {attribute: a}\n        variant: on\n" +
			"      - if: {}\n        variant: on\n" +
			"      - if: {attribute: \"\", present: true}\n        variant: on\n",
		[]string{
			`f.yaml:6:19: "all" is empty; list at least one condition`,
			`f.yaml:8:14: "all" takes no attribute: its conditions name their own`,
			`f.yaml:10:14: "equals" needs an attribute: add attribute: NAME to the condition`,
			`f.yaml:12:36: "one_of" is empty; list the values to compare with`,
			`f.yaml:14:32: "gt" must be a number, not "3" (remove the quotes)`,
			`f.yaml:16:36: "equals" must be a string, a number or true/false, not a list`,
			`f.yaml:18:37: "present" must be true or false, not "yes"`,
			`f.yaml:20:13: condition on "a" has no operator; add one of equals, not_equals, one_of, not_one_of, starts_with, ends_with, contains, gt, gte, lt, lte, semver_eq, semver_gt, semver_gte, semver_lt, semver_lte, matches, present`,
			`f.yaml:22:13: condition is empty; write attribute: NAME and an operator, or all, any or not`,
			`f.yaml:24:25: "attribute" is empty; name an attribute of the evaluation context, like targetingKey or email`,
		},
	}, {
		"rule mistakes",
		flag1 + "    rules:\n      - if: {attribute: x, present: true}\n      - if: {attribute: x, present: true}\n        variant: on\n        rollout: {on: 100%}\n      - variant: onn\n",
		[]string{
			`f.yaml:6:9: rule 1 of flag "a" has no "variant" or "rollout"; add variant: NAME, or rollout: {NAME: 10%, OTHER: 90%}`,
			`f.yaml:9:9: rule 2 of flag "a" has both "variant" and "rollout"; keep one`,
			`f.yaml:10:18: rule variant "onn" is not a variant of flag "a" (did you mean "on"?)`,
		},
	}, {
		"rules after one that always matches",
		flag1 + "    rules:\n      - variant: on\n      - variant: off\n    progressive: {variant: on, steps: [1%], interval: 1m}\n",
		[]string{
			`f.yaml:7:9: rule 2 of flag "a" is never reached: rule 1 has no "if", so it always matches; remove one or give rule 1 an "if"`,
			`f.yaml:8:5: "progressive" of flag "a" is never reached: rule 1 has no "if" and a fixed variant, so it decides for everyone`,
		},
	}, {
		"progressive variant unknown",
		flag1 + "    progressive: {variant: onn, steps: [1%, 10%], interval: 10m}\n",
		[]string{`f.yaml:5:28: progressive variant "onn" is not a variant of flag "a" (did you mean "on"?)`},
	}, {
		"progressive variant is the default",
		flag1 + "    progressive: {variant: off, steps: [1%], interval: 1m}\n",
		[]string{`f.yaml:5:28: progressive variant "off" is the default of flag "a"; a progressive rollout moves users from the default to another variant`},
	}, {
		"steps not increasing",
		flag1 + "    progressive: {variant: on, steps: [1%, 50%, 10%, 50%], interval: 10m}\n",
		[]string{
			`f.yaml:5:49: steps must increase: 10% is not more than 50%`,
			`f.yaml:5:54: steps must increase: 50% is not more than 50%`,
		},
	}, {
		"steps empty or at zero",
		flag1 + "    progressive: {variant: on, steps: [0%, 100%], interval: 10m}\n" +
			"  b:\n    variants: {on: true, off: false}\n    default: off\n    progressive: {variant: on, steps: [], interval: 10m}\n",
		[]string{
			`f.yaml:5:40: each step must be more than 0%, not "0%"`,
			`f.yaml:9:39: "steps" is empty; list growing percentages, like [1%, 10%, 50%, 100%]`,
		},
	}, {
		"bad interval",
		flag1 + "    progressive: {variant: on, steps: [1%], interval: 10}\n" +
			"  b:\n    variants: {on: true, off: false}\n    default: off\n    progressive: {variant: on, steps: [1%], interval: 500ms}\n" +
			"  c:\n    variants: {on: true, off: false}\n    default: off\n    progressive: {variant: on, steps: [1%], interval: ten minutes}\n",
		[]string{
			`f.yaml:5:55: "interval" 10 has no unit; write "10s" or "10m"`,
			`f.yaml:9:55: "interval" must be at least 1s, not "500ms"`,
			`f.yaml:13:55: invalid "interval" "ten minutes": write a duration like "90s", "10m" or "1h30m"`,
		},
	}, {
		"progressive incomplete",
		flag1 + "    progressive: {variant: on, step: [1%]}\n",
		[]string{
			`f.yaml:5:18: "progressive" of flag "a" has no "interval"; it needs variant, steps and interval, like {variant: on, steps: [1%, 10%, 100%], interval: 10m}, or variant and experiment, like {variant: on, experiment: 50%}`,
			`f.yaml:5:32: unknown key "step" in "progressive" of flag "a" (did you mean "steps"?)`,
		},
	}, {
		"experiment with steps",
		flag1 + "    progressive: {variant: on, experiment: 50%, steps: [1%], interval: 1m}\n",
		[]string{
			`f.yaml:5:49: "steps" does not go with "experiment" in flag "a": an experiment holds one split and never advances; remove it, or remove "experiment" for a progressive rollout`,
			`f.yaml:5:62: "interval" does not go with "experiment" in flag "a": an experiment holds one split and never advances; remove it, or remove "experiment" for a progressive rollout`,
		},
	}, {
		"experiment of everyone",
		flag1 + "    progressive: {variant: on, experiment: 100%}\n",
		[]string{
			`f.yaml:5:44: "experiment" of flag "a" must be more than 0% and less than 100%, not "100%": an experiment compares the variant with the rest`,
		},
	}, {
		"duplicate flag keys",
		flag1 + "  a:\n    variants: {x: 1}\n    default: x\n",
		[]string{`f.yaml:5:3: duplicate flag "a" in "flags" (first at line 2); remove one`},
	}, {
		"duplicate variants and keys",
		"flags:\n  a:\n    variants: {on: true, on: false}\n    default: on\n    default: on\n",
		[]string{
			`f.yaml:3:26: duplicate variant "on" in "variants" (first at line 3); remove one`,
			`f.yaml:5:5: duplicate key "default" in flag "a" (first at line 4); remove one`,
		},
	}, {
		"bad names",
		"flags:\n  a b:\n    variants: {\"x/y\": 1}\n    default: x/y\n",
		[]string{
			`f.yaml:2:3: invalid flag key "a b": use letters, digits, "_", "." and "-", starting with a letter or digit`,
			`f.yaml:3:16: invalid variant name "x/y": use letters, digits, "_", "." and "-", starting with a letter or digit`,
		},
	}, {
		"missing variants and default",
		"flags:\n  a:\n    disabled: true\n  b:\n    variants: {}\n    default: x\n",
		[]string{
			`f.yaml:3:5: flag "a" has no "variants"; add them, like variants: {on: true, off: false}`,
			`f.yaml:3:5: flag "a" has no "default"; add default: NAME, naming the variant served when no rule matches`,
			`f.yaml:5:15: flag "b" has no variants; add at least one, like {on: true, off: false}`,
		},
	}, {
		"bad variant values",
		"flags:\n  a:\n    variants: {x: ~, y: .inf, z: !!binary aGk=}\n    default: x\n  b:\n    variants: {o: {? [1]: 2}}\n    default: o\n",
		[]string{
			`f.yaml:3:19: variant "x" has no value; give it one, like true, "text", 10 or {key: value}`,
			`f.yaml:3:25: variant "y" must be a finite number, not .inf`,
			`f.yaml:3:34: variant "z" must hold strings, numbers, true/false, lists and mappings, not !!binary aGk=`,
			`f.yaml:6:22: keys in variant "o" must be plain names, not a list`,
		},
	}, {
		"numbers beyond 2^53",
		"flags:\n  a:\n    variants: {big: 9007199254740993, ok: 9007199254740991, float: 1.5e300}\n    default: ok\n" +
			"  b:\n    variants: {o: {id: -12345678901234567890}}\n    default: o\n" +
			"    rules:\n      - if: {attribute: n, gt: 9007199254740992.0}\n        variant: o\n",
		[]string{
			`f.yaml:3:21: variant "big" is 9007199254740993, beyond 9007199254740991 (2^53 - 1), the largest whole number JSON clients read exactly (JavaScript reads 9007199254740992): write it as a string ("9007199254740993") if the digits matter, or with an exponent (9.007199254740992e+15) if rounding is fine`,
			`f.yaml:6:24: variant "o" is -12345678901234567890, beyond 9007199254740991 (2^53 - 1), the largest whole number JSON clients read exactly (JavaScript reads -12345678901234567168): write it as a string ("-12345678901234567890") if the digits matter, or with an exponent (-1.2345678901234567e+19) if rounding is fine`,
			`f.yaml:9:32: "gt" is 9007199254740992.0, beyond 9007199254740991 (2^53 - 1), the largest whole number JSON clients read exactly (JavaScript reads 9007199254740992): write it with an exponent (9.007199254740992e+15) if rounding is fine`,
		},
	}, {
		"bucket_by without a split",
		flag1 + "    bucket_by: userId\n",
		[]string{`f.yaml:5:5: "bucket_by" has no effect: flag "a" has no rollout and no progressive; remove it`},
	}, {
		"wrong shapes",
		"flags:\n  a: 1\n  b:\n    variants: [on, off]\n    default: on\n    rules: {variant: on}\n    disabled: no\n",
		[]string{
			`f.yaml:2:6: flag "a" must be a mapping, not 1`,
			`f.yaml:4:15: "variants" of flag "b" must be a mapping of names to values, like {on: true, off: false}, not a list`,
			`f.yaml:6:12: "rules" must be a list, not a mapping`,
			`f.yaml:7:15: "disabled" must be true or false, not "no"`,
		},
	}, {
		"flags not a mapping",
		"flags: [1]\n",
		[]string{`f.yaml:1:8: "flags" must be a mapping of flag keys to flags, not a list`},
	}, {
		"empty file",
		"",
		[]string{`f.yaml:1:1: file is empty; start it with "flags:" and one flag per key`},
	}, {
		"no flags key",
		"# nothing yet\n{}\n",
		[]string{`f.yaml:2:1: the file has no "flags"; start it with "flags:" and one flag per key`},
	}, {
		"two documents",
		"flags: {}\n---\nflags: {}\n",
		[]string{`f.yaml:2:1: a second YAML document starts here; a flags file holds exactly one, so remove it`},
	}, {
		"invalid YAML",
		"flags:\n  a: [\n",
		[]string{`f.yaml:2:1: invalid YAML: did not find expected node content`},
	}, {
		"alias cycle",
		"flags: &f\n  a: *f\n",
		[]string{`f.yaml:2:6: alias *f is inside its own anchor &f; an anchor cannot contain itself`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("f.yaml", []byte(tt.src))
			if s != nil {
				t.Errorf("Parse returned a Set with the error %v", err)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse error = %#v, want an ErrorList", err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse errors:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

func TestParse(t *testing.T) {
	_, err := Parse(FileName, []byte(`
defaults: &bool {variants: {on: true, off: false}, default: off}
flags:
  new-checkout:
    variants: {on: true, off: false}
    default: off
    rules:
      - if: {attribute: email, ends_with: "@example.com"}
        variant: on
      - rollout: {on: 10%, off: 90%}
    progressive: {variant: on, steps: [1%, 10%, 50%, 100%], interval: 10m}
  checkout-copy:
    variants: {short: "Buy", long: "Buy now, ship today"}
    default: short
    disabled: true
  limits:
    variants: {low: 10, high: 1e3}
    default: low
  theme:
    variants:
      dark: {bg: "#000", sizes: [1, 2.5], beta: true, none: null}
      light: [a, b]
    default: light
  empty: {variants: {only: x}, default: only}
`))
	if err == nil || !strings.Contains(err.Error(), `unknown key "defaults"`) {
		t.Fatalf("Parse with a top-level anchor holder: %v", err)
	}
	s, err := Parse(FileName, []byte(`
flags:
  new-checkout:
    variants: {on: true, off: false}
    default: off
    bucket_by: userId
    rules:
      - if: {attribute: email, ends_with: "@example.com"}
        variant: on
      - rollout: {on: 10%, off: 90%}
    progressive: {variant: on, steps: [1%, 10%, 50%, 100%], interval: 10m}
  checkout-copy:
    variants: {short: "Buy", long: "Buy now, ship today"}
    default: short
    disabled: true
  limits:
    variants: {low: 10, high: 1e3}
    default: low
  theme:
    variants:
      dark: {bg: "#000", sizes: [1, 2.5], beta: true, none: null}
      light: [a, b]
    default: light
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := s.Keys(), []string{"checkout-copy", "limits", "new-checkout", "theme"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Keys = %v, want %v", got, want)
	}
	f, ok := s.Flag("new-checkout")
	if !ok {
		t.Fatal("no flag new-checkout")
	}
	p, ok := f.Progressive()
	want := Progressive{Variant: "on", Steps: []int{100, 1000, 5000, 10000}, Interval: 10 * time.Minute}
	if !ok || !reflect.DeepEqual(p, want) {
		t.Errorf("Progressive = %+v, %v; want %+v", p, ok, want)
	}
	if f.Type() != Bool || f.Default() != "off" || f.Disabled() || f.BucketBy() != "userId" ||
		!reflect.DeepEqual(f.Variants(), []string{"on", "off"}) {
		t.Errorf("new-checkout: type %v, default %q, disabled %v, bucket_by %q, variants %v",
			f.Type(), f.Default(), f.Disabled(), f.BucketBy(), f.Variants())
	}
	copyFlag, _ := s.Flag("checkout-copy")
	if v, _ := copyFlag.Value("long"); v != "Buy now, ship today" || !copyFlag.Disabled() || copyFlag.BucketBy() != TargetingKey {
		t.Errorf("checkout-copy: long = %v, disabled %v, bucket_by %q", v, copyFlag.Disabled(), copyFlag.BucketBy())
	}
	limits, _ := s.Flag("limits")
	if v, _ := limits.Value("high"); limits.Type() != Number || v != 1000.0 {
		t.Errorf("limits: type %v, high = %#v", limits.Type(), v)
	}
	theme, _ := s.Flag("theme")
	dark, _ := theme.Value("dark")
	wantDark := map[string]any{"bg": "#000", "sizes": []any{1.0, 2.5}, "beta": true, "none": nil}
	if theme.Type() != Object || !reflect.DeepEqual(dark, wantDark) {
		t.Errorf("theme: type %v, dark = %#v", theme.Type(), dark)
	}
	// Values are copies: changing one changes nothing in the Set.
	dark.(map[string]any)["bg"] = "#fff"
	if again, _ := theme.Value("dark"); again.(map[string]any)["bg"] != "#000" {
		t.Error("changing a returned object value changed the flag")
	}
	if _, ok := s.Flag("nope"); ok {
		t.Error(`Flag("nope") found a flag`)
	}
}

func TestParseYAMLFeatures(t *testing.T) {
	s, err := Parse(FileName, []byte(`flags:
  base: &base
    variants: &bool {on: true, off: false}
    default: off
  a:
    <<: *base
    rules:
      - if: &internal {attribute: email, ends_with: "@example.com"}
        variant: on
  b:
    <<: *base
    default: on
    rules:
      - if: {not: *internal}
        variant: off
  empty-ok: {variants: *bool, default: off}
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	internal := map[string]any{"email": "ann@example.com"}
	for _, tt := range []struct {
		key     string
		ctx     map[string]any
		variant string
	}{
		{"a", internal, "on"},
		{"a", nil, "off"},
		{"b", internal, "on"},
		{"b", nil, "off"},
	} {
		if r := s.Evaluate(tt.key, tt.ctx, nil); r.Variant != tt.variant {
			t.Errorf("%s with %v: %+v, want variant %q", tt.key, tt.ctx, r, tt.variant)
		}
	}
	for _, src := range []string{"flags:\n", "flags: {}\n", "flags: ~\n"} {
		s, err := Parse(FileName, []byte(src))
		if err != nil || len(s.Keys()) != 0 {
			t.Errorf("Parse(%q) = %v, %v; want an empty Set", src, s.Keys(), err)
		}
	}
}

func TestParseNode(t *testing.T) {
	// The flags: section of .ferry.yaml: positions are those of .ferry.yaml.
	src := "version: 1\nstages: []\nflags:\n  a:\n    variants: {on: true, off: false}\n    default: maybe\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0]
	flagsNode := top.Content[5]
	_, err := ParseNode(".ferry.yaml", flagsNode)
	if want := `.ferry.yaml:6:14: default "maybe" is not a variant of flag "a" (variants: on, off)`; err == nil || err.Error() != want {
		t.Errorf("ParseNode error = %v, want %s", err, want)
	}
	s, err := ParseNode(".ferry.yaml", nil)
	if err != nil || len(s.Keys()) != 0 {
		t.Errorf("ParseNode(nil) = %v, %v; want an empty Set", s, err)
	}
	good := "flags:\n  a:\n    variants: {on: true, off: false}\n    default: on\n"
	if err := yaml.Unmarshal([]byte(good), &doc); err != nil {
		t.Fatal(err)
	}
	s, err = ParseNode(".ferry.yaml", doc.Content[0].Content[1])
	if err != nil || s.Evaluate("a", nil, nil).Variant != "on" {
		t.Errorf("ParseNode = %v, %v", s, err)
	}
}

func TestPercent(t *testing.T) {
	for _, tt := range []struct {
		in string
		bp int
		ok bool
	}{
		{"0%", 0, true}, {"100%", 10000, true}, {"10%", 1000, true}, {"0.5%", 50, true}, {"0.01%", 1, true},
		{"33.33%", 3333, true}, {"99.99%", 9999, true}, {"007%", 700, true},
		{"100.01%", 0, false}, {"0.001%", 0, false}, {"10", 0, false}, {"%", 0, false}, {".5%", 0, false},
		{"5.%", 0, false}, {"-1%", 0, false}, {"1e1%", 0, false}, {"1000%", 0, false}, {" 5%", 0, false},
	} {
		bp, ok := parsePercent(tt.in)
		if bp != tt.bp || ok != tt.ok {
			t.Errorf("parsePercent(%q) = %d, %v; want %d, %v", tt.in, bp, ok, tt.bp, tt.ok)
		}
		if ok {
			if back, _ := parsePercent(formatPercent(bp)); back != bp {
				t.Errorf("formatPercent(%d) = %q, which reads back as %d", bp, formatPercent(bp), back)
			}
		}
	}
	if got := formatPercent(3333); got != "33.33%" {
		t.Errorf("formatPercent(3333) = %q", got)
	}
	if got := formatPercent(50); got != "0.5%" {
		t.Errorf("formatPercent(50) = %q", got)
	}
}

func TestShareAt(t *testing.T) {
	p := Progressive{Variant: "on", Steps: []int{100, 1000, 10000}, Interval: 10 * time.Minute}
	for _, tt := range []struct {
		elapsed time.Duration
		want    int
	}{
		{-time.Second, 0}, {0, 100}, {10*time.Minute - 1, 100}, {10 * time.Minute, 1000}, {25 * time.Minute, 10000},
		{1000 * time.Hour, 10000},
	} {
		if got := p.ShareAt(tt.elapsed); got != tt.want {
			t.Errorf("ShareAt(%v) = %d, want %d", tt.elapsed, got, tt.want)
		}
	}
}
