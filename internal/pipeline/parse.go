package pipeline

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/yamlfile"
)

var (
	pipelineKeys = []string{"version", "env", "stages", "environments", "flags"}
	stageKeys    = []string{"name", "steps"}
)

// Parse reads the pipeline file data; file names it in messages (it is never opened). The error is an
// ErrorList of every problem found, sorted by position; when it is non-nil the pipeline is nil.
//
// Anchors, aliases and merge keys ("<<: *defaults") are resolved as YAML defines them.
func Parse(file string, data []byte) (*Pipeline, error) {
	p := &parser{Problems: yamlfile.Problems{File: file}}
	pl := p.document(data)
	if len(p.List) > 0 {
		p.List.Sort()
		return nil, p.List
	}
	return pl, nil
}

// document reads data as exactly one YAML document holding a pipeline.
func (p *parser) document(data []byte) *Pipeline {
	top := p.Document(data, "pipeline", `start it with "version: 1" and a list of stages`)
	switch {
	case top == nil:
		return nil
	case top.Kind != yaml.MappingNode:
		p.errorf(top, `the file must be a mapping with "version" and "stages", not %s`, describe(top))
		return nil
	}
	return p.pipeline(top)
}

func (p *parser) pipeline(n *yaml.Node) *Pipeline {
	m := p.mapping(n, "pipeline", pipelineKeys)
	pl := &Pipeline{}
	if f, ok := m["version"]; !ok {
		p.errorf(n, `pipeline has no "version"; add "version: 1"`)
	} else if v := resolve(f.Val); v.ShortTag() != "!!int" || v.Value != "1" {
		p.errorf(v, `"version" must be 1, not %s; 1 is the only version this ferry reads`, describe(v))
	} else {
		pl.Version = 1
	}
	if f, ok := m["env"]; ok {
		pl.Env = p.env(f.Val, nil)
	}
	if f, ok := m["stages"]; !ok {
		p.errorf(n, `pipeline has no "stages"; add a list of stages, each with a name and steps`)
	} else {
		pl.Stages = p.stages(f.Val)
	}
	if f, ok := m["environments"]; ok {
		pl.Environments = p.environments(f.Val)
	}
	if f, ok := m["flags"]; ok {
		set, err := flags.ParseNode(p.File, f.Val)
		var list ErrorList // the flags' problems are the file's, at their places in it
		switch {
		case errors.As(err, &list):
			p.List = append(p.List, list...)
		case err != nil:
			p.errorf(f.Val, "%v", err)
		}
		pl.Flags = set
	}
	return pl
}

func (p *parser) stages(n *yaml.Node) []Stage {
	items, ok := p.Sequence(n, `"stages"`)
	if ok && len(items) == 0 {
		p.errorf(resolve(n), `"stages" is empty; add at least one stage`)
	}
	var stages []Stage
	first := map[string]*yaml.Node{}
	for _, item := range items {
		n := resolve(item)
		m := p.mapping(n, "stage", stageKeys)
		if m == nil {
			continue
		}
		s := Stage{Name: p.name(m, n, "stage", "build"), Pos: pos(n)}
		p.unique(first, s.Name, nameNode(item, m), "stage name")
		if f, ok := m["steps"]; !ok {
			p.errorf(n, `%s has no "steps"; add a list of steps, each with a name and run`, label("stage", s.Name))
		} else {
			s.Steps = p.steps(f.Val)
		}
		stages = append(stages, s)
	}
	return stages
}

func (p *parser) steps(n *yaml.Node) []Step {
	items, ok := p.Sequence(n, `"steps"`)
	if ok && len(items) == 0 {
		p.errorf(resolve(n), `"steps" is empty; add at least one step`)
	}
	var steps []Step
	first := map[string]*yaml.Node{}
	for _, item := range items {
		n := resolve(item)
		m := p.mapping(n, "step", stepKeys)
		if m == nil {
			continue
		}
		s := p.step(n, m)
		p.unique(first, s.Name, nameNode(item, m), "step name")
		steps = append(steps, s)
	}
	return steps
}

// nameNode is where a duplicate name is reported: at the name, or at the alias that repeats a whole item.
func nameNode(item *yaml.Node, m map[string]field) *yaml.Node {
	if f, ok := m["name"]; ok && item.Kind != yaml.AliasNode {
		return resolve(f.Val)
	}
	return item
}

// label names a stage, step or environment in a message by its name when it has a valid one.
func label(kind, name string) string {
	if name == "" {
		return kind
	}
	return fmt.Sprintf("%s %q", kind, name)
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }
