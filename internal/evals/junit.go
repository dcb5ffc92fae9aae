package evals

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// junitSuite is a <testsuite> or <testsuites>: both may hold suites and cases.
type junitSuite struct {
	Suites     []junitSuite    `xml:"testsuite"`
	Cases      []junitCase     `xml:"testcase"`
	Properties []junitProperty `xml:"properties>property"`
}

type junitCase struct {
	Name       string          `xml:"name,attr"`
	Classname  string          `xml:"classname,attr"`
	Failures   []junitMessage  `xml:"failure"`
	Errors     []junitMessage  `xml:"error"`
	Skipped    *struct{}       `xml:"skipped"`
	Properties []junitProperty `xml:"properties>property"`
	SystemOut  string          `xml:"system-out"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// ParseJUnit reads JUnit XML, as pytest --junitxml, DeepEval (through pytest) and go-junit-report write it: a
// <testsuites> or a <testsuite> root, suites nested at any depth. Each <testcase> is a case, except skipped
// ones: its id is "classname.name" (or name alone), it passes without <failure> or <error>, its output is the
// failure's text and <system-out>, its reason the failure's message. A case's properties (pytest's
// record_property) may give "tags" (comma-separated) and scores: "score" or "score.METRIC" with a number.
func ParseJUnit(data []byte) ([]Case, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("junit: no <testsuites> or <testsuite> element")
		} else if err != nil {
			return nil, fmt.Errorf("junit: %w", err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if start.Name.Local != "testsuites" && start.Name.Local != "testsuite" {
			return nil, fmt.Errorf("junit: the root element is <%s>; want <testsuites> or <testsuite>", start.Name.Local)
		}
		var root junitSuite
		if err := dec.DecodeElement(&root, &start); err != nil {
			return nil, fmt.Errorf("junit: %w", err)
		}
		var cs []Case
		if err := collectJUnit(&root, &cs); err != nil {
			return nil, err
		}
		return cs, nil
	}
}

func collectJUnit(s *junitSuite, cs *[]Case) error {
	for _, jc := range s.Cases {
		if jc.Skipped != nil {
			continue
		}
		c := Case{ID: jc.Name, Pass: len(jc.Failures) == 0 && len(jc.Errors) == 0}
		if jc.Classname != "" {
			c.ID = jc.Classname + "." + jc.Name
		}
		var out []string
		for _, m := range append(jc.Failures, jc.Errors...) {
			if c.Reason == "" {
				c.Reason = m.Message
			}
			if t := strings.TrimSpace(m.Text); t != "" {
				out = append(out, t)
			}
		}
		if t := strings.TrimSpace(jc.SystemOut); t != "" {
			out = append(out, t)
		}
		c.Output = strings.Join(out, "\n")
		for _, p := range jc.Properties {
			switch name := p.Name; {
			case name == "tags" || name == "tag":
				c.Tags = append(c.Tags, metadataTags(map[string]any{"tags": p.Value})...)
			case name == "score" || strings.HasPrefix(name, "score."):
				v, err := strconv.ParseFloat(strings.TrimSpace(p.Value), 64)
				if err != nil {
					return fmt.Errorf("junit: case %d: property %s is not a number", len(*cs)+1, strconv.Quote(name))
				}
				if c.Scores == nil {
					c.Scores = map[string]float64{}
				}
				metric := strings.TrimPrefix(strings.TrimPrefix(name, "score"), ".")
				if metric == "" {
					metric = "score"
				}
				c.Scores[metric] = v
			}
		}
		c.Tags = dedupe(c.Tags)
		*cs = append(*cs, c)
		if len(*cs) > MaxCases {
			return fmt.Errorf("junit: more than %d cases; ferry keeps at most %d per step", MaxCases, MaxCases)
		}
	}
	for i := range s.Suites {
		if err := collectJUnit(&s.Suites[i], cs); err != nil {
			return err
		}
	}
	return nil
}
