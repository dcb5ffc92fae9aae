package flags_test

import (
	"fmt"

	"github.com/ferry-cd/ferry/internal/flags"
)

func ExampleParse() {
	_, err := flags.Parse(".ferry/flags.yaml", []byte(`flags:
  new-checkout:
    variants: {on: true, off: false}
    defualt: off
    rules:
      - if: {attribute: email, endswith: "@example.com"}
        variant: on
      - rollout: {on: 10%, off: 80%}
`))
	fmt.Println(err)
	// Output:
	// .ferry/flags.yaml:4:5: unknown key "defualt" in flag "new-checkout" (did you mean "default"?)
	// .ferry/flags.yaml:6:32: unknown operator "endswith" in condition (did you mean "ends_with"?)
	// .ferry/flags.yaml:8:18: "rollout" weights of rule 2 of flag "new-checkout" add up to 90%, not 100%
}

func ExampleSet_Evaluate() {
	set, err := flags.Parse(".ferry/flags.yaml", []byte(`flags:
  new-checkout:
    variants: {on: true, off: false}
    default: off
    rules:
      - if: {attribute: email, ends_with: "@example.com"}
        variant: on
      - rollout: {on: 10%, off: 90%}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ctx := range []map[string]any{
		{"targetingKey": "user-1", "email": "ann@example.com"},
		{"targetingKey": "user-1", "email": "bob@example.org"},
		{"email": "bob@example.org"},
	} {
		r := set.Evaluate("new-checkout", ctx, nil)
		if r.ErrorCode != "" {
			fmt.Println(r.Reason, r.ErrorCode)
			continue
		}
		fmt.Println(r.Variant, r.Reason)
	}
	// A kill switch, set at runtime by the server:
	r := set.Evaluate("new-checkout", map[string]any{"email": "ann@example.com"},
		&flags.State{Overrides: map[string]string{"new-checkout": "off"}})
	fmt.Println(r.Variant, r.Reason, r.Metadata)
	// Output:
	// on TARGETING_MATCH
	// off SPLIT
	// ERROR TARGETING_KEY_MISSING
	// off STATIC map[override:true]
}
