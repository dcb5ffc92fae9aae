package pipeline

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-cd/ferry/internal/gate"
)

// gateKeys starts with the metric; the rest are the bounds, of which a gate needs one.
var gateKeys = []string{"metric", "min", "max", "max_increase", "max_decrease"}

func (p *parser) gates(n *yaml.Node) []gate.Gate {
	items, _ := p.Sequence(n, `"gates"`)
	var gates []gate.Gate
	for _, item := range items {
		if g, ok := p.gate(item); ok {
			gates = append(gates, g)
		}
	}
	return gates
}

func (p *parser) gate(item *yaml.Node) (gate.Gate, bool) {
	n := resolve(item)
	m := p.mapping(n, "gate", gateKeys)
	if m == nil {
		return gate.Gate{}, false
	}
	var g gate.Gate
	if f, ok := m["metric"]; !ok {
		p.errorf(n, `gate has no "metric"; name the metric to check, like metric: latency_p95_ms`)
	} else if s, ok := p.text(f.Val, `"metric"`); ok && strings.TrimSpace(s) == "" {
		p.errorf(resolve(f.Val), `"metric" is empty; name the metric to check, like latency_p95_ms`)
	} else if ok && !gate.ValidName(s) {
		// The same rule as the names a step writes to $FERRY_METRICS: a gate on any other name could never pass.
		p.errorf(resolve(f.Val), "metric %q is not a metric name: letters, digits and _ . : - (up to 128, not starting with a digit)", s)
	} else {
		g.Metric = s
	}
	g.Min = p.bound(m, "min")
	g.Max = p.bound(m, "max")
	g.MaxIncrease = p.change(m, "max_increase")
	g.MaxDecrease = p.change(m, "max_decrease")
	if !slices.ContainsFunc(gateKeys[1:], func(k string) bool { _, ok := m[k]; return ok }) {
		p.errorf(n, "gate checks nothing; add min, max, max_increase or max_decrease")
	}
	if g.Min != nil && g.Max != nil && *g.Min > *g.Max {
		lo, hi := resolve(m["min"].Val), resolve(m["max"].Val)
		p.errorf(lo, "min %s is more than max %s; no value can pass", lo.Value, hi.Value)
	}
	return g, true
}

// bound reads the absolute bound key of a gate, or nil when it is not set.
func (p *parser) bound(m map[string]field, key string) *float64 {
	f, ok := m[key]
	if !ok {
		return nil
	}
	if v, ok := p.number(f.Val, strconv.Quote(key)); ok {
		return &v
	}
	return nil
}

// change reads the baseline bound key of a gate: a number is an absolute change, "N%" a percentage of the
// baseline. Either must be at least zero; which way is worse is said by the key, not the sign.
func (p *parser) change(m map[string]field, key string) *gate.Change {
	f, ok := m[key]
	if !ok {
		return nil
	}
	n := resolve(f.Val)
	c, ok := gate.Change{}, false
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int", "!!float":
			c.Value, ok = p.number(n, strconv.Quote(key))
			if !ok {
				return nil
			}
		case "!!str":
			num, percent := strings.CutSuffix(strings.TrimSpace(n.Value), "%")
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			ok = percent && err == nil && !math.IsInf(v, 0) && !math.IsNaN(v)
			c = gate.Change{Value: v, Percent: true}
		}
	}
	switch {
	case !ok:
		p.errorf(n, `%q must be a number (an absolute change) or a percentage like "10%%", not %s`, key, describe(n))
	case c.Value < 0:
		p.errorf(n, `%q is negative (%s); give the size of the change allowed, like 10 or "10%%"`, key, n.Value)
	default:
		return &c
	}
	return nil
}
