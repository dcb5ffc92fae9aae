package pipeline

import (
	"slices"
	"strings"
	"text/template/parse"

	"go.yaml.in/yaml/v3"
)

// Variant templates. A prometheus check of a flag rollout is asked once per flag: its query may name the
// variant rolled out and its control, {{ .Variant }} and {{ .Control }} (and the flag, {{ .Flag }}), so that
// one query measures the users each was served. The template is text/template with nothing but those
// fields: no functions, no conditions, no other variables, so rendering cannot fail or do anything but
// substitute. Variant names are letters, digits, "_", "." and "-", safe inside a PromQL label matcher's
// quotes.

// VariantValues are what a variant template is rendered with.
type VariantValues struct {
	Flag    string
	Variant string
	Control string
}

// variantFields are the names a variant template may use, as {{ .Name }}.
var variantFields = []string{"Variant", "Control", "Flag"}

// variantTemplate reports whether query is a variant template (it has an action) and reports every problem in
// it at its line and column within the file: n is the query's scalar.
func (p *parser) variantTemplate(n *yaml.Node, query string) bool {
	if !strings.Contains(query, "{{") {
		return false
	}
	trees, err := parse.Parse("query", query, "", "", map[string]any{})
	if err != nil {
		// text/template says "template: query:LINE: message"; keep the message.
		msg := err.Error()
		if _, rest, ok := strings.Cut(msg, "query:"); ok {
			if _, m, ok := strings.Cut(rest, ": "); ok {
				msg = m
			}
		}
		p.errorf(n, "query template: %s; write {{ .Variant }}, {{ .Control }} or {{ .Flag }}", msg)
		return true
	}
	p.walkVariant(n, query, trees["query"].Root)
	return true
}

// walkVariant reports every node of a parsed variant template but text and {{ .Field }} of a known field.
func (p *parser) walkVariant(n *yaml.Node, query string, list *parse.ListNode) {
	for _, node := range list.Nodes {
		switch x := node.(type) {
		case *parse.TextNode:
		case *parse.ActionNode:
			if f, ok := lone(x.Pipe); ok {
				name := f.Ident[0]
				if len(f.Ident) == 1 && slices.Contains(variantFields, name) {
					continue
				}
				// A chain's position is its last field's: .Control.X is reported at its start.
				at := p.templateNode(n, query, int(f.Position())-len(strings.Join(f.Ident[:len(f.Ident)-1], "."))-min(len(f.Ident)-1, 1))
				if len(f.Ident) > 1 {
					p.errorf(at, "query template: .%s has no fields; write {{ .Variant }}, {{ .Control }} or {{ .Flag }}", strings.Join(f.Ident, "."))
				} else {
					p.errorf(at, "query template: unknown variable .%s%s; a query knows {{ .Variant }}, {{ .Control }} and {{ .Flag }}", name, suggest(name, variantFields))
				}
				continue
			}
			p.errorf(p.templateNode(n, query, int(x.Position())), "query template: %s is not allowed; write {{ .Variant }}, {{ .Control }} or {{ .Flag }}, nothing else", x.String())
		default:
			p.errorf(p.templateNode(n, query, int(node.Position())), "query template: %s is not allowed; write {{ .Variant }}, {{ .Control }} or {{ .Flag }}, nothing else", node.String())
		}
	}
}

// lone is the field of a pipeline that is one field and nothing else: {{ .Variant }}.
func lone(pipe *parse.PipeNode) (*parse.FieldNode, bool) {
	if pipe == nil || len(pipe.Decl) > 0 || len(pipe.Cmds) != 1 || len(pipe.Cmds[0].Args) != 1 {
		return nil, false
	}
	f, ok := pipe.Cmds[0].Args[0].(*parse.FieldNode)
	return f, ok
}

// templateNode is a node standing at offset of the query in the file, for errorf. The column is exact for a
// query on one line written plain or quoted; a query over several lines is reported at its line of the
// scalar's start plus the lines before offset, and a block scalar's (|, >) column at its indicator.
func (p *parser) templateNode(n *yaml.Node, query string, offset int) *yaml.Node {
	offset = min(max(offset, 0), len(query))
	before := query[:offset]
	line := strings.Count(before, "\n")
	at := &yaml.Node{Line: n.Line + line, Column: n.Column}
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		at.Line++ // a block scalar's text starts on the line after its indicator
	case line == 0 && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		at.Column += 1 + offset
	case line == 0:
		at.Column += offset
	}
	return at
}

// RenderQuery is the check's query for v: its variant template rendered, or the query itself when it names
// no variant. The template was checked when the file was parsed, so an error means a bug.
func (c PrometheusCheck) RenderQuery(v VariantValues) (string, error) {
	if !c.Templated {
		return c.Query, nil
	}
	return renderQuery(c.Query, v)
}
