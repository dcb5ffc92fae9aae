package pipeline

import (
	"path"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-cd/ferry/internal/evals"
	"github.com/ferry-cd/ferry/internal/gate"
)

// Cases says where a step's per-case evaluation results are and which gates judge them.
type Cases struct {
	// File is the results file, relative to the checkout; "" means the step writes ferry's JSON Lines to the
	// file named by $FERRY_CASES.
	File   string
	Format evals.Format
	Gates  []evals.Gate
	Pos    Pos
}

var (
	casesKeys     = []string{"file", "format", "gates"}
	caseGateKeys  = []string{"tag", "new_failures", "failures", "pass_rate", "score"}
	caseChecks    = caseGateKeys[1:]
	countKeys     = []string{"max"}
	passRateKeys  = []string{"min", "max_decrease", "confidence"}
	caseScoreKeys = []string{"metric", "min", "max"}
)

// formatByExt is the format a file's extension implies when "format" is left out.
var formatByExt = map[string]evals.Format{".jsonl": evals.JSONL, ".json": evals.Promptfoo, ".xml": evals.JUnit}

func (p *parser) cases(n *yaml.Node) *Cases {
	m := p.section(n, "cases", casesKeys)
	if m == nil {
		return nil
	}
	c := &Cases{Pos: pos(resolve(n))}
	fileSet := false
	if f, ok := m["file"]; ok {
		s, ok := p.text(f.Val, `"file"`)
		at := resolve(f.Val)
		switch {
		case !ok:
		case strings.TrimSpace(s) == "":
			p.errorf(at, `"file" is empty; give the results file relative to the checkout, like out/results.json, or leave it out to write $FERRY_CASES`)
		case path.IsAbs(s):
			p.errorf(at, `cases file %q is an absolute path; give a path relative to the checkout`, s)
		case escapes(s):
			p.errorf(at, `cases file %q has a ".." element; give a path inside the checkout`, s)
		default:
			c.File, fileSet = s, true
		}
	}
	if f, ok := m["format"]; ok {
		if i, ok := p.choice(f.Val, `"format"`, evals.FormatNames); ok {
			c.Format = evals.Format(i)
			if _, hasFile := m["file"]; !hasFile && c.Format != evals.JSONL {
				p.errorf(resolve(f.Val), `format %s needs a "file": name the file the tool writes (without one, the step writes JSON Lines to $FERRY_CASES)`, c.Format)
			}
		}
	} else if fileSet {
		ext := path.Ext(c.File)
		if fm, ok := formatByExt[ext]; ok {
			c.Format = fm
		} else {
			p.errorf(resolve(m["file"].Val), `cannot tell the format of %q from its name; add format: jsonl, promptfoo or junit`, c.File)
		}
	}
	if f, ok := m["gates"]; ok {
		items, _ := p.Sequence(f.Val, `"gates"`)
		for _, item := range items {
			if g, ok := p.caseGate(item); ok {
				c.Gates = append(c.Gates, g)
			}
		}
	}
	return c
}

func (p *parser) caseGate(item *yaml.Node) (evals.Gate, bool) {
	n := resolve(item)
	m := p.mapping(n, "cases gate", caseGateKeys)
	if m == nil {
		return evals.Gate{}, false
	}
	var g evals.Gate
	if f, ok := m["tag"]; ok {
		if s, ok := p.text(f.Val, `"tag"`); ok && strings.TrimSpace(s) == "" {
			p.errorf(resolve(f.Val), `"tag" is empty; name the tag of the cases to check, or leave it out for every case`)
		} else {
			g.Tag = s
		}
	}
	checks := present(m, caseChecks)
	switch {
	case len(checks) == 0:
		p.errorf(n, "cases gate checks nothing; add new_failures, failures, pass_rate or score")
		return g, false
	case len(checks) > 1:
		p.errorf(checks[1].Key, "a cases gate checks one thing: %q and %q are in one gate; make them two gates (each a list item)",
			checks[0].Key.Value, checks[1].Key.Value)
		return g, false
	}
	f := checks[0]
	switch f.Key.Value {
	case "new_failures":
		g.NewFailures = p.count(f.Val, "new_failures")
	case "failures":
		g.Failures = p.count(f.Val, "failures")
	case "pass_rate":
		g.PassRate = p.passRate(f.Val)
	case "score":
		g.Score = p.caseScore(f.Val)
	}
	return g, g.NewFailures != nil || g.Failures != nil || g.PassRate != nil || g.Score != nil
}

// count reads {max: N}, a number of cases.
func (p *parser) count(n *yaml.Node, key string) *evals.Count {
	m := p.section(n, key, countKeys)
	if m == nil {
		return nil
	}
	f, ok := m["max"]
	if !ok {
		p.errorf(resolve(n), "%q needs a max, like %s: {max: 0}", key, key)
		return nil
	}
	v, ok := p.integer(f.Val, `"max"`, 0, evals.MaxCases)
	if !ok {
		return nil
	}
	return &evals.Count{Max: v}
}

func (p *parser) passRate(n *yaml.Node) *evals.Rate {
	m := p.section(n, "pass_rate", passRateKeys)
	if m == nil {
		return nil
	}
	r := &evals.Rate{}
	r.Min = p.between(m, "min", 0, 1)
	r.MaxDecrease = p.between(m, "max_decrease", 0, 1)
	if c := p.between(m, "confidence", 0.5, 0.999); c != nil {
		r.Confidence = *c
	}
	if _, hasMin := m["min"]; !hasMin {
		if _, hasDec := m["max_decrease"]; !hasDec {
			p.errorf(resolve(n), `"pass_rate" checks nothing; add min (like 0.9) or max_decrease (like 0.05, against the baseline)`)
			return nil
		}
	}
	return r
}

// between reads a number from lo to hi under key, or nil when it is not set or not valid.
func (p *parser) between(m map[string]field, key string, lo, hi float64) *float64 {
	f, ok := m[key]
	if !ok {
		return nil
	}
	v, ok := p.number(f.Val, strconv.Quote(key))
	if !ok {
		return nil
	}
	if v < lo || v > hi {
		p.errorf(resolve(f.Val), "%q must be from %s to %s, not %s", key, fmtNum(lo), fmtNum(hi), resolve(f.Val).Value)
		return nil
	}
	return &v
}

func (p *parser) caseScore(n *yaml.Node) *evals.Score {
	m := p.section(n, "score", caseScoreKeys)
	if m == nil {
		return nil
	}
	s := &evals.Score{}
	if f, ok := m["metric"]; !ok {
		p.errorf(resolve(n), `"score" has no "metric"; name the score to check, like metric: similarity`)
	} else if v, ok := p.text(f.Val, `"metric"`); ok && !gate.ValidName(v) {
		p.errorf(resolve(f.Val), "metric %q is not a metric name: letters, digits and _ . : - (up to 128, not starting with a digit)", v)
	} else if ok {
		s.Metric = v
	}
	s.Min, s.Max = p.bound(m, "min"), p.bound(m, "max")
	switch {
	case s.Min == nil && s.Max == nil:
		if _, a := m["min"]; !a {
			if _, b := m["max"]; !b {
				p.errorf(resolve(n), `"score" checks nothing; add min or max, a bound on the mean over the cases`)
			}
		}
		return nil
	case s.Min != nil && s.Max != nil && *s.Min > *s.Max:
		lo, hi := resolve(m["min"].Val), resolve(m["max"].Val)
		p.errorf(lo, "min %s is more than max %s; no value can pass", lo.Value, hi.Value)
		return nil
	case s.Metric == "":
		return nil
	}
	return s
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
