package yamlfile

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestProblemsAreReportedOnceInOrder(t *testing.T) {
	p := &Problems{File: "f.yaml"}
	p.At(&yaml.Node{Line: 3, Column: 2}, "third %d", 3)
	p.At(&yaml.Node{Line: 1, Column: 5}, "first")
	p.At(&yaml.Node{Line: 3, Column: 2}, "third %d", 3) // the same node read again through an alias
	p.At(&yaml.Node{Line: 1, Column: 5}, "first, another")
	p.List.Sort()
	want := "f.yaml:1:5: first\nf.yaml:1:5: first, another\nf.yaml:3:2: third 3"
	if got := p.List.Error(); got != want {
		t.Errorf("problems:\n%s\nwant\n%s", got, want)
	}
	var one *Error
	if !errors.As(error(p.List), &one) || one.Line != 1 {
		t.Errorf("errors.As finds %v, want the first problem", one)
	}
	if got := (&Error{Msg: "no place"}).Error(); got != "no place" {
		t.Errorf("an error without file or position reads %q", got)
	}
}

func TestSyntaxIsLocated(t *testing.T) {
	for _, tt := range []struct {
		data string
		want string
	}{
		{"a: [1, 2\n", "f.yaml:"},                           // yaml.v3 gives the line
		{"a: 1\nb: *nowhere\n", "f.yaml:2:4: invalid YAML"}, // no line from yaml.v3: found in the data
		{"a: \"x\xffy\"\n", "f.yaml:1:6: invalid YAML"},     // invalid UTF-8
		// yaml.v3 says line 2 for a tab that indents line 3: the tab is what is reported.
		{"a: 1\nb: 2\n\tc: 3\n", "f.yaml:3:1: invalid YAML: found a tab character that violates indentation; indent with spaces"},
		{"a:\n  - x\n  \t- y\n", "f.yaml:3:3: invalid YAML: found a tab character"},
		{"a: 1\n\t\n", "f.yaml:2:1: invalid YAML: found a tab character"},
		{"a: 1\nb:\n\tc: 2\n", "f.yaml:3:1: invalid YAML: found character that cannot start any token"},
	} {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(tt.data), &n)
		if err == nil {
			t.Fatalf("%q parsed", tt.data)
		}
		p := &Problems{File: "f.yaml"}
		p.Syntax([]byte(tt.data), err)
		if len(p.List) != 1 || !strings.HasPrefix(p.List[0].Error(), tt.want) {
			t.Errorf("%q: %v, want a problem starting %q", tt.data, p.List, tt.want)
		}
	}
}

func TestCheckAliasesRefusesBombs(t *testing.T) {
	var b strings.Builder
	b.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
	prev := "a"
	for i := range 8 {
		name := string(rune('b' + i))
		b.WriteString(name + ": &" + name + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
		prev = name
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	p := &Problems{File: "f.yaml"}
	if p.CheckAliases(&doc) || len(p.List) != 1 || !strings.Contains(p.List[0].Msg, "aliases expand the file") {
		t.Errorf("an alias bomb: %v", p.List)
	}
	var small yaml.Node
	yaml.Unmarshal([]byte("a: &a {x: 1}\nb: *a\n"), &small)
	if p := (&Problems{}); !p.CheckAliases(&small) || len(p.List) != 0 {
		t.Errorf("ordinary aliases refused: %v", p.List)
	}
}

func TestWords(t *testing.T) {
	if got := Suggest("defualt", []string{"variants", "default", "rules"}); got != ` (did you mean "default"?)` {
		t.Errorf("Suggest = %q", got)
	}
	if got := Suggest("zzzzzz", []string{"variants", "default"}); got != " (known keys: variants, default)" {
		t.Errorf("Suggest for nothing close = %q", got)
	}
	for _, tt := range []struct {
		node *yaml.Node
		want string
	}{
		{&yaml.Node{Kind: yaml.MappingNode}, "a mapping"},
		{&yaml.Node{Kind: yaml.SequenceNode}, "a list"},
		{&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}, "empty"},
		{&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x"}, `"x"`},
		{&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "42"}, "42"},
	} {
		if got := Describe(tt.node); got != tt.want {
			t.Errorf("Describe(%v) = %q, want %q", tt.node.Value, got, tt.want)
		}
	}
}
