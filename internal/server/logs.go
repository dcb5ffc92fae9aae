package server

import "time"

// LogLine is one line of a run's log as the API sends it.
type LogLine struct {
	Time time.Time `json:"time"`
	Step string    `json:"step"`
	Text string    `json:"line"`
}
