package kubernetes

import "maps"

// CanaryHeader is the header of the route's rules that send a request to one release alone, whatever the
// weights: `x-ferry-canary: <release id>`. ferry's http checks send it when they probe the canary, so that
// a check measures the canary and nothing else, as Flagger's header routing does. Like the weights, the
// rules are part of the route ferry applies (field manager ferry): they come with the canary and go in the
// same apply as its weight when the rollout ends, and are never drift.
const CanaryHeader = "x-ferry-canary"

// canaryRule is the header rule of a declared rule of the route that sent traffic to the environment's
// Service svc: the same matches, each with the header CanaryHeader naming release, and release's copy of
// svc as its only backend. Nil when the rule has no backend that is svc. The rule's name, if
// it has one, is left out (names are unique in a route); its filters stay, so the release sees requests as
// users' requests reach it.
func canaryRule(rule map[string]any, svc, release string) map[string]any {
	refs, _ := rule["backendRefs"].([]any)
	var backend map[string]any
	for _, ref := range refs {
		m, ok := ref.(map[string]any)
		kind, _ := m["kind"].(string)
		if ok && m["name"] == svc && (kind == "" || kind == "Service") {
			backend = maps.Clone(m)
			break
		}
	}
	if backend == nil {
		return nil
	}
	backend["name"] = copyName(svc, release)
	backend["weight"] = int64(1)
	header := map[string]any{"type": "Exact", "name": CanaryHeader, "value": release}
	matches, _ := rule["matches"].([]any)
	if len(matches) == 0 {
		matches = []any{map[string]any{}} // a rule without matches matches every request (path prefix /)
	}
	var out []any
	for _, m := range matches {
		mm, ok := m.(map[string]any)
		if !ok {
			continue
		}
		mm = maps.Clone(mm)
		headers, _ := mm["headers"].([]any)
		mm["headers"] = append(append([]any(nil), headers...), header)
		out = append(out, mm)
	}
	r := maps.Clone(rule)
	delete(r, "name")
	r["matches"] = out
	r["backendRefs"] = []any{backend}
	return r
}
