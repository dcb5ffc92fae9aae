package flags

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a flags file, at a 1-based line and column. Line is 0 when the position is
// unknown; the message then carries only the file name. It has the fields and the form of pipeline.Error,
// so that a caller can merge both lists; it is its own type because the pipeline package will import this
// one to read the flags: section of .ferry.yaml.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

// Error returns "FILE:LINE:COL: msg", leaving out what is unknown: the file when File is empty, the
// position when Line is 0.
func (e *Error) Error() string {
	var pos []string
	if e.File != "" {
		pos = append(pos, e.File)
	}
	if e.Line > 0 {
		pos = append(pos, fmt.Sprint(e.Line), fmt.Sprint(e.Col))
	}
	if len(pos) == 0 {
		return e.Msg
	}
	return strings.Join(pos, ":") + ": " + e.Msg
}

// ErrorList is every problem Parse found, sorted by position. Its Error method prints one per line.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error in the list.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sort orders l by position, keeping the order in which problems at one position were found.
func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}
