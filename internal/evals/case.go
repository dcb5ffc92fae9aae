// Package evals owns evaluation cases: the per-case results an evaluation step writes (ferry's JSON Lines, or
// the JSON of promptfoo and the JUnit XML of pytest, DeepEval or go-junit-report, which it reads as they are),
// the gates a pipeline puts on them (new failures against the baseline, failures and scores over a tag, pass
// rates judged with a confidence interval), cases that flip between the attempts of one run (flaky), and the
// comparison of a run's cases with its baseline's (fixed, broken, still failing).
//
// It is pure: it reads the bytes it is given and imports no I/O package.
package evals

import (
	"strings"
	"unicode/utf8"
)

// Case is the result of one evaluation case in one run. Its ID names it across runs, so that a run's case can
// be compared with the baseline's case of the same ID.
type Case struct {
	ID   string   `json:"id"`
	Tags []string `json:"tags,omitempty"`
	// Scores are the case's scores by metric, as the evaluation tool gave them.
	Scores map[string]float64 `json:"scores,omitempty"`
	Pass   bool               `json:"pass"`
	// Flaky is set when the case passed in one attempt of the run's step and failed in another.
	Flaky bool `json:"flaky,omitempty"`
	// Input, Expected, Output and Reason are shown to whoever looks into a case; each is cut at MaxText.
	Input    string `json:"input,omitempty"`
	Expected string `json:"expected,omitempty"`
	Output   string `json:"output,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// HasTag reports whether c has tag; every case has the empty tag.
func (c *Case) HasTag(tag string) bool {
	if tag == "" {
		return true
	}
	for _, t := range c.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Limits on what one step's cases may hold: they are stored with every run and shown to every reader.
const (
	// MaxCases is the most cases one step may report.
	MaxCases = 5000
	// MaxIDBytes bounds a case's ID.
	MaxIDBytes = 256
	// MaxTags bounds the tags of a case; each is a name like a metric's (letters, digits, _ . : -).
	MaxTags = 16
	// MaxScores bounds the scores of a case.
	MaxScores = 32
	// MaxText bounds each of input, expected, output and reason: longer texts are cut, with a note.
	MaxText = 4096
)

// cutNote ends a text cut at MaxText.
const cutNote = "\n… (cut by ferry at 4 KiB)"

// cut shortens s to at most MaxText bytes, on a rune boundary, and says so; invalid UTF-8 is replaced, since
// the text is shown in a terminal and a browser.
func cut(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxText {
		return s
	}
	n := MaxText - len(cutNote)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + cutNote
}

// Format is a file format ferry reads cases from.
type Format int

const (
	// JSONL is ferry's own: one JSON object per line (see ParseJSONL).
	JSONL Format = iota
	// Promptfoo is the JSON that `promptfoo eval --output FILE.json` writes.
	Promptfoo
	// JUnit is JUnit XML, as pytest --junitxml, DeepEval and go-junit-report write it.
	JUnit
)

// FormatNames are the words a pipeline file uses, in Format order.
var FormatNames = []string{"jsonl", "promptfoo", "junit"}

// String returns jsonl, promptfoo or junit.
func (f Format) String() string {
	if f < 0 || int(f) >= len(FormatNames) {
		return "unknown"
	}
	return FormatNames[f]
}

// Parse reads cases in format f. Every parser checks the same limits and rules (see check).
func Parse(f Format, data []byte) ([]Case, error) {
	var cs []Case
	var err error
	switch f {
	case JSONL:
		cs, err = ParseJSONL(data)
	case Promptfoo:
		cs, err = ParsePromptfoo(data)
	case JUnit:
		cs, err = ParseJUnit(data)
	default:
		return nil, errUnknownFormat
	}
	if err != nil {
		return nil, err
	}
	return cs, check(cs)
}
