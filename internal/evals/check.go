package evals

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"
)

var errUnknownFormat = errors.New("unknown cases format")

// check enforces what every format's cases must be: at most MaxCases, each with a unique printable ID of at
// most MaxIDBytes, at most MaxTags printable tags and MaxScores finite scores; texts are cut at MaxText.
func check(cs []Case) error {
	if len(cs) > MaxCases {
		return fmt.Errorf("%d cases; ferry keeps at most %d per step", len(cs), MaxCases)
	}
	seen := make(map[string]int, len(cs))
	for i := range cs {
		c := &cs[i]
		if err := checkCase(c); err != nil {
			return fmt.Errorf("case %d: %w", i+1, err)
		}
		if j, dup := seen[c.ID]; dup {
			return fmt.Errorf("case %d: duplicate id %s (also case %d); give every case its own id", i+1, strconv.Quote(c.ID), j+1)
		}
		seen[c.ID] = i
		c.Input, c.Expected, c.Output, c.Reason = cut(c.Input), cut(c.Expected), cut(c.Output), cut(c.Reason)
	}
	return nil
}

func checkCase(c *Case) error {
	if err := printable(c.ID, MaxIDBytes); err != nil {
		return fmt.Errorf("id %w", err)
	}
	if len(c.Tags) > MaxTags {
		return fmt.Errorf("%d tags; at most %d", len(c.Tags), MaxTags)
	}
	for _, t := range c.Tags {
		if err := printable(t, 64); err != nil {
			return fmt.Errorf("tag %w", err)
		}
	}
	if len(c.Scores) > MaxScores {
		return fmt.Errorf("%d scores; at most %d", len(c.Scores), MaxScores)
	}
	for name, v := range c.Scores {
		if err := printable(name, 128); err != nil {
			return fmt.Errorf("score name %w", err)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("score %s is not a finite number", strconv.Quote(name))
		}
	}
	return nil
}

// printable checks a name shown on one line: not empty, at most limit bytes, valid UTF-8 without control
// characters. The error does not quote the name, which may be anything a step printed.
func printable(s string, limit int) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case len(s) > limit:
		return fmt.Errorf("is longer than %d bytes", limit)
	case !utf8.ValidString(s):
		return errors.New("is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errors.New("has a control character")
		}
	}
	return nil
}
