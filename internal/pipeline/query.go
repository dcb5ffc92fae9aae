package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"go.yaml.in/yaml/v3"
)

// QueryVars are the values a Prometheus query of a kubernetes environment is rendered with, each written
// {{ .Name }} in the query: {{ .Version }} is the new release, {{ .StableVersion }} the live one.
type QueryVars struct {
	// Project is the project's name.
	Project string
	// Environment is the environment's name.
	Environment string
	// Namespace is the environment's namespace.
	Namespace string
	// Workload is the name of the environment's Deployment, without its kind ("shop").
	Workload string
	// Version is the release number of the new release ("42"), the one being analysed.
	Version string
	// StableVersion is the release number of the live release; "" when the environment has none yet.
	StableVersion string
	// Interval is the analysis interval as a PromQL duration ("10s"), for rate(x[{{ .Interval }}]).
	Interval string
}

// queryVars are the fields of QueryVars, in the order messages list them.
var queryVars = []string{"Version", "StableVersion", "Namespace", "Environment", "Project", "Workload", "Interval"}

// Render returns the query of a kubernetes environment's check with v's values in place of its
// {{ .Name }} variables. Parse checked the template, so Render only fails on a query it did not check (a local
// environment's queries are variant templates: see RenderQuery).
func (c *PrometheusCheck) Render(v QueryVars) (string, error) {
	return renderQuery(c.Query, v)
}

// renderQuery executes a query template over data; a missing key is an error, never "<no value>".
func renderQuery(query string, data any) (string, error) {
	t, err := template.New("query").Option("missingkey=error").Parse(query)
	if err != nil {
		return "", fmt.Errorf("render query: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render query: %w", err)
	}
	return b.String(), nil
}

// queryTemplate reports what in the query s at n is not a valid template over QueryVars: bad syntax, an
// unknown variable, or an action (with, range, template, define) that would change what "." is.
func (p *parser) queryTemplate(n *yaml.Node, s string) bool {
	t, err := template.New("query").Parse(s)
	if err != nil {
		// "template: query:LINE: message": the line only helps in a query of several.
		msg := strings.TrimPrefix(err.Error(), "template: query:")
		line, rest, ok := strings.Cut(msg, ": ")
		switch {
		case !ok:
		case strings.Contains(strings.TrimSpace(s), "\n"):
			msg = "line " + line + " of the query: " + rest
		default:
			msg = rest
		}
		msg = strings.ReplaceAll(msg, "at query:", "at line ")
		p.errorf(n, `invalid "query" template: %s; write variables like {{ .Version }}`, msg)
		return false
	}
	if len(t.Templates()) > 1 {
		p.errorf(n, `"query" defines templates; a query may only use variables like {{ .Version }}, pipes and if`)
		return false
	}
	if problem := walkQuery(t.Tree.Root); problem != "" {
		p.errorf(n, `"query" %s`, problem)
		return false
	}
	return true
}

// walkQuery returns what is wrong with the first node of a query template, in the order written, that has
// a problem, or "".
func walkQuery(node parse.Node) string {
	var children []parse.Node
	switch x := node.(type) {
	case *parse.ListNode:
		if x == nil {
			return ""
		}
		children = x.Nodes
	case *parse.ActionNode:
		children = []parse.Node{x.Pipe}
	case *parse.PipeNode:
		if x == nil {
			return ""
		}
		for _, d := range x.Decl {
			children = append(children, d)
		}
		for _, c := range x.Cmds {
			children = append(children, c)
		}
	case *parse.CommandNode:
		children = x.Args
	case *parse.IfNode:
		children = []parse.Node{x.Pipe, x.List, x.ElseList}
	case *parse.ChainNode:
		children = []parse.Node{x.Node}
	}
	if problem := queryNode(node); problem != "" {
		return problem
	}
	for _, c := range children {
		if problem := walkQuery(c); problem != "" {
			return problem
		}
	}
	return ""
}

// queryNode returns what is wrong with one node of a query template, or "".
func queryNode(node parse.Node) string {
	switch x := node.(type) {
	case *parse.FieldNode:
		return queryField(x.Ident, "."+strings.Join(x.Ident, "."), ".")
	case *parse.VariableNode:
		if x.Ident[0] == "$" && len(x.Ident) > 1 {
			return queryField(x.Ident[1:], strings.Join(x.Ident, "."), "$.")
		}
		if len(x.Ident) > 1 {
			return fmt.Sprintf("uses %s; the query variables are strings, with no fields", strings.Join(x.Ident, "."))
		}
	case *parse.ChainNode:
		return fmt.Sprintf("uses %s; the query variables are strings, with no fields", x)
	case *parse.WithNode:
		return changesDot("with")
	case *parse.RangeNode:
		return changesDot("range")
	case *parse.TemplateNode:
		return changesDot("template")
	}
	return ""
}

// queryField checks the fields ident of "." (or "$"), written as in the query after prefix ("." or "$.").
func queryField(ident []string, written, prefix string) string {
	name := ident[0]
	known := "the query variables are " + strings.Join(dotted(queryVars[:len(queryVars)-1]), ", ") + " and ." +
		queryVars[len(queryVars)-1]
	switch {
	case !slices.Contains(queryVars, name):
		hint := ""
		if best := closest(name, queryVars); best != "" {
			hint = fmt.Sprintf(" (did you mean %s%s?)", prefix, best)
		}
		return fmt.Sprintf("uses %s, which is not a query variable%s; %s", written, hint, known)
	case len(ident) > 1:
		return fmt.Sprintf("uses %s; .%s is a string, with no fields", written, name)
	}
	return ""
}

func changesDot(action string) string {
	return fmt.Sprintf("uses {{ %s }}; a query may only use variables like {{ .Version }}, pipes and if", action)
}

func dotted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "." + n
	}
	return out
}
