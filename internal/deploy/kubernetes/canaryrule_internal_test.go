package kubernetes

import (
	"encoding/json"
	"testing"
)

// TestCanaryRule: the canary's header rule keeps the declared rule's matches (each with the header added)
// and filters, drops its name, and sends to the canary's copy of the environment's Service alone; a rule
// that does not reach the Service gets none.
func TestCanaryRule(t *testing.T) {
	tests := []struct{ name, rule, want string }{
		{"no matches",
			`{"backendRefs":[{"name":"shop","port":80}]}`,
			`{"backendRefs":[{"name":"shop-r7","port":80,"weight":1}],"matches":[{"headers":[{"name":"x-ferry-canary","type":"Exact","value":"7"}]}]}`},
		{"matches, headers, filters and a name",
			`{"name":"api","matches":[{"path":{"type":"PathPrefix","value":"/api"}},{"headers":[{"name":"x-beta","value":"1"}]}],` +
				`"filters":[{"type":"RequestHeaderModifier","requestHeaderModifier":{"set":[{"name":"x-a","value":"b"}]}}],` +
				`"backendRefs":[{"name":"other","port":81},{"name":"shop","port":80,"weight":3}]}`,
			`{"backendRefs":[{"name":"shop-r7","port":80,"weight":1}],` +
				`"filters":[{"requestHeaderModifier":{"set":[{"name":"x-a","value":"b"}]},"type":"RequestHeaderModifier"}],` +
				`"matches":[{"headers":[{"name":"x-ferry-canary","type":"Exact","value":"7"}],"path":{"type":"PathPrefix","value":"/api"}},` +
				`{"headers":[{"name":"x-beta","value":"1"},{"name":"x-ferry-canary","type":"Exact","value":"7"}]}]}`},
		{"another service only", `{"backendRefs":[{"name":"other","port":80}]}`, `null`},
		{"a service of another kind", `{"backendRefs":[{"name":"shop","kind":"ServiceImport","port":80}]}`, `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rule map[string]any
			if err := json.Unmarshal([]byte(tt.rule), &rule); err != nil {
				t.Fatal(err)
			}
			before, _ := json.Marshal(rule)
			got, _ := json.Marshal(canaryRule(rule, "shop", "7"))
			if string(got) != tt.want {
				t.Errorf("rule:\n%s\nwant\n%s", got, tt.want)
			}
			if after, _ := json.Marshal(rule); string(after) != string(before) {
				t.Errorf("the declared rule changed: %s", after)
			}
		})
	}
}
