package flags

import "github.com/ferry-cd/ferry/internal/yamlfile"

// Error is one problem in a flags file, at a 1-based line and column; its Error method reads
// "FILE:LINE:COL: message". ErrorList is every problem of a file, sorted by position, one per line. They are
// the pipeline's types too, so a flags: section's problems join the rest of .ferry.yaml's.
type (
	Error     = yamlfile.Error
	ErrorList = yamlfile.ErrorList
)
