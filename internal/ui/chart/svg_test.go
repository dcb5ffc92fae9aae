package chart

import (
	"encoding/xml"
	"html/template"
	"io"
	"strconv"
	"strings"
	"testing"
)

// node is an element of a parsed chart.
type node struct {
	name    string
	attr    map[string]string
	text    string   // its character data, including its children's
	classes []string // its own and its ancestors' classes, innermost first
}

func (n node) has(class string) bool {
	for _, c := range n.classes {
		for _, f := range strings.Fields(c) {
			if f == class {
				return true
			}
		}
	}
	return false
}

func (n node) num(t *testing.T, attr string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr[attr], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.name, attr, n.attr[attr], err)
	}
	return v
}

// parse decodes every token of a chart, failing the test if it is not well-formed XML, and checks what every
// chart must have: an <svg role="img"> whose first children are the <title> and <desc> it is labelled by.
func parse(t *testing.T, h template.HTML) []node {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(h)))
	dec.Strict = true
	var nodes []node
	var open []int // indexes into nodes of the elements not yet closed
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, h)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := node{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				n.attr[a.Name.Local] = a.Value
			}
			n.classes = []string{n.attr["class"]}
			if len(open) > 0 {
				n.classes = append(n.classes, nodes[open[len(open)-1]].classes...)
			}
			nodes = append(nodes, n)
			open = append(open, len(nodes)-1)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			for _, i := range open {
				nodes[i].text += string(tok)
			}
		}
	}
	if len(open) != 0 {
		t.Fatalf("%d elements left open", len(open))
	}
	if len(nodes) < 3 || nodes[0].name != "svg" || nodes[1].name != "title" || nodes[2].name != "desc" {
		t.Fatalf("want <svg><title><desc>..., got\n%s", h)
	}
	root := nodes[0]
	if root.attr["role"] != "img" || root.attr["viewBox"] == "" {
		t.Errorf("root %v: want role=img and a viewBox", root.attr)
	}
	if want := nodes[1].attr["id"] + " " + nodes[2].attr["id"]; root.attr["aria-labelledby"] != want {
		t.Errorf("aria-labelledby=%q, want %q", root.attr["aria-labelledby"], want)
	}
	if strings.Contains(string(h), "style=") {
		t.Errorf("a style attribute, which the dashboard's CSP blocks:\n%s", h)
	}
	return nodes
}

// find returns the elements named name that have every class.
func find(nodes []node, name string, classes ...string) []node {
	var out []node
next:
	for _, n := range nodes {
		if n.name != name {
			continue
		}
		for _, c := range classes {
			if !n.has(c) {
				continue next
			}
		}
		out = append(out, n)
	}
	return out
}

// pathPoints returns the points of a path written with M, L, H and V, and how many times it moves (M).
func pathPoints(t *testing.T, d string) (pts [][2]float64, moves int) {
	t.Helper()
	fields := strings.FieldsFunc(d, func(r rune) bool { return r == ' ' })
	var x, y float64
	var tokens []string
	for _, f := range fields {
		// split "M12" / "H3V4" into commands and numbers
		start := 0
		for i, r := range f {
			if strings.ContainsRune("MLHVZ", r) {
				if i > start {
					tokens = append(tokens, f[start:i])
				}
				tokens = append(tokens, string(r))
				start = i + 1
			}
		}
		if start < len(f) {
			tokens = append(tokens, f[start:])
		}
	}
	number := func(i int) float64 {
		v, err := strconv.ParseFloat(tokens[i], 64)
		if err != nil {
			t.Fatalf("path %q: %v", d, err)
		}
		return v
	}
	for i := 0; i < len(tokens); i++ {
		switch tokens[i] {
		case "M", "L":
			if tokens[i] == "M" {
				moves++
			}
			x, y = number(i+1), number(i+2)
			i += 2
		case "H":
			x = number(i + 1)
			i++
		case "V":
			y = number(i + 1)
			i++
		case "Z":
			continue
		default:
			t.Fatalf("path %q: unexpected %q", d, tokens[i])
		}
		pts = append(pts, [2]float64{x, y})
	}
	return pts, moves
}

// plotArea returns the edges of the plot from its grid lines: they span it from left to right, and the
// highest and lowest are its top and bottom.
func plotArea(t *testing.T, nodes []node) (left, right, top, bottom float64) {
	t.Helper()
	grid := find(nodes, "line", "grid")
	if len(grid) < 2 {
		t.Fatalf("%d grid lines, want 2 or more", len(grid))
	}
	left, right = grid[0].num(t, "x1"), grid[0].num(t, "x2")
	top, bottom = grid[0].num(t, "y1"), grid[0].num(t, "y1")
	for _, g := range grid {
		top, bottom = min(top, g.num(t, "y1")), max(bottom, g.num(t, "y1"))
	}
	return left, right, top, bottom
}
