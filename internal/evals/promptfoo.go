package evals

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// promptfooFile is the part of `promptfoo eval --output FILE.json` that ferry reads.
type promptfooFile struct {
	Results *struct {
		Results []promptfooResult `json:"results"`
	} `json:"results"`
}

type promptfooResult struct {
	TestIdx  int `json:"testIdx"`
	TestCase struct {
		Description string          `json:"description"`
		Vars        json.RawMessage `json:"vars"`
		Assert      []struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"assert"`
		Metadata map[string]any `json:"metadata"`
	} `json:"testCase"`
	Prompt struct {
		Raw   string `json:"raw"`
		Label string `json:"label"`
	} `json:"prompt"`
	Provider struct {
		ID    string `json:"id"`
		Label string `json:"label"`
	} `json:"provider"`
	Response *struct {
		Output any `json:"output"`
	} `json:"response"`
	Error         string             `json:"error"`
	Success       bool               `json:"success"`
	Score         *float64           `json:"score"`
	NamedScores   map[string]float64 `json:"namedScores"`
	GradingResult *struct {
		Reason string `json:"reason"`
	} `json:"gradingResult"`
}

// ParsePromptfoo reads the JSON file that `promptfoo eval --output FILE.json` writes (results version 3, and 2).
// Each result is a case: its id is the test's metadata "id", else its description, else "test N" (N from 1);
// when the file holds several prompts or providers, " · PROMPT · PROVIDER" tells their results apart. Tags come
// from the test's metadata "tags" (a list, or a comma-separated string) and "tag"; scores are promptfoo's
// overall "score" and its named scores (metrics of assertions); input is the rendered prompt, expected the
// assertions, output the provider's answer (or its error), reason promptfoo's grading reason.
func ParsePromptfoo(data []byte) ([]Case, error) {
	var f promptfooFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("promptfoo output: %w", err)
	}
	if f.Results == nil {
		return nil, errors.New(`promptfoo output: no "results"; write it with promptfoo eval --output FILE.json`)
	}
	rs := f.Results.Results
	if len(rs) == 0 {
		// promptfoo 0.118 leaves the list empty when run with --no-write: the results live in its database.
		return nil, errors.New("promptfoo output holds no results; run promptfoo eval without --no-write, which leaves them out of the file")
	}
	prompts, providers := map[string]bool{}, map[string]bool{}
	for _, r := range rs {
		prompts[r.Prompt.Label] = true
		providers[providerName(r)] = true
	}
	cs := make([]Case, 0, len(rs))
	for _, r := range rs {
		c := Case{
			ID:     promptfooID(r),
			Tags:   metadataTags(r.TestCase.Metadata),
			Pass:   r.Success,
			Input:  r.Prompt.Raw,
			Output: r.Error,
		}
		if len(prompts) > 1 {
			c.ID += " · " + r.Prompt.Label
		}
		if len(providers) > 1 {
			c.ID += " · " + providerName(r)
		}
		if c.Input == "" && len(r.TestCase.Vars) > 0 {
			c.Input = string(r.TestCase.Vars)
		}
		if r.Response != nil && r.Response.Output != nil {
			c.Output = text(r.Response.Output)
		}
		var want []string
		for _, a := range r.TestCase.Assert {
			if a.Value == nil {
				want = append(want, a.Type)
			} else {
				want = append(want, a.Type+": "+text(a.Value))
			}
		}
		c.Expected = strings.Join(want, "\n")
		if r.GradingResult != nil {
			c.Reason = r.GradingResult.Reason
		}
		if r.Score != nil || len(r.NamedScores) > 0 {
			c.Scores = make(map[string]float64, len(r.NamedScores)+1)
			for k, v := range r.NamedScores {
				c.Scores[k] = v
			}
			if r.Score != nil {
				c.Scores["score"] = *r.Score
			}
		}
		cs = append(cs, c)
		if len(cs) > MaxCases {
			return nil, fmt.Errorf("more than %d cases; ferry keeps at most %d per step", MaxCases, MaxCases)
		}
	}
	return cs, nil
}

func promptfooID(r promptfooResult) string {
	if id, ok := r.TestCase.Metadata["id"].(string); ok && id != "" {
		return id
	}
	if r.TestCase.Description != "" {
		return r.TestCase.Description
	}
	return "test " + strconv.Itoa(r.TestIdx+1)
}

func providerName(r promptfooResult) string {
	if r.Provider.Label != "" {
		return r.Provider.Label
	}
	return r.Provider.ID
}

// metadataTags reads "tags" (a list of strings or "a, b") and "tag" from a test's metadata.
func metadataTags(md map[string]any) []string {
	var tags []string
	add := func(v any) {
		switch v := v.(type) {
		case string:
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					tags = append(tags, t)
				}
			}
		case []any:
			for _, t := range v {
				if s, ok := t.(string); ok && strings.TrimSpace(s) != "" {
					tags = append(tags, strings.TrimSpace(s))
				}
			}
		}
	}
	add(md["tags"])
	add(md["tag"])
	return dedupe(tags)
}

func dedupe(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
