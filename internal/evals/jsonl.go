package evals

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// jsonlCase is one line of ferry's format. Pass is a pointer so that a line without it is an error rather
// than a failing case.
type jsonlCase struct {
	ID       *string            `json:"id"`
	Tags     []string           `json:"tags"`
	Scores   map[string]float64 `json:"scores"`
	Pass     *bool              `json:"pass"`
	Input    any                `json:"input"`
	Expected any                `json:"expected"`
	Output   any                `json:"output"`
	Reason   string             `json:"reason"`
}

// ParseJSONL reads ferry's case format: one JSON object per line, blank lines ignored.
//
//	{"id": "refund-window", "tags": ["policy"], "scores": {"similarity": 0.92}, "pass": true,
//	 "input": "How long do I have to return shoes?", "expected": "30 days", "output": "You have 30 days."}
//
// id and pass are required; tags, scores, input, expected, output and reason are optional. input, expected and
// output may be any JSON value: a string is kept as it is, anything else as its JSON. Unknown keys are errors,
// so that a misspelt "pass" is not read as a failing case.
func ParseJSONL(data []byte) ([]Case, error) {
	var cs []Case
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		c, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		cs = append(cs, c)
		if len(cs) > MaxCases {
			return nil, fmt.Errorf("more than %d cases; ferry keeps at most %d per step", MaxCases, MaxCases)
		}
	}
	return cs, nil
}

func parseLine(line []byte) (Case, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var l jsonlCase
	if err := dec.Decode(&l); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return Case{}, fmt.Errorf("not a JSON object: %s", syn)
		}
		// json's own message names the unknown field, which a user wrote, or the Go type, which says little.
		msg := strings.TrimPrefix(err.Error(), "json: ")
		return Case{}, fmt.Errorf(`%s; each line is {"id": ..., "pass": true|false, "tags": [...], "scores": {...}}`, strings.ReplaceAll(msg, "evals.jsonlCase", "case"))
	}
	if dec.More() {
		return Case{}, errors.New("more than one JSON value on the line; write one case per line")
	}
	switch {
	case l.ID == nil:
		return Case{}, errors.New(`no "id"; give each case an id that stays the same from run to run`)
	case l.Pass == nil:
		return Case{}, errors.New(`no "pass"; say whether the case passed: "pass": true or false`)
	}
	return Case{
		ID: *l.ID, Tags: l.Tags, Scores: l.Scores, Pass: *l.Pass,
		Input: text(l.Input), Expected: text(l.Expected), Output: text(l.Output), Reason: l.Reason,
	}, nil
}

// text shows a JSON value: a string as it is, null as nothing, anything else as its compact JSON.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
