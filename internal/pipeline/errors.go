package pipeline

import "github.com/ferry-cd/ferry/internal/yamlfile"

// Error is one problem in a pipeline file, at a 1-based line and column; its Error method reads
// "FILE:LINE:COL: message". ErrorList is every problem of a file, sorted by position, one per line.
type (
	Error     = yamlfile.Error
	ErrorList = yamlfile.ErrorList
)
