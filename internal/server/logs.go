package server

import "github.com/ferry-cd/ferry/internal/api"

// LogLine is one line of a run's log as the API sends it.
type LogLine = api.LogLine
