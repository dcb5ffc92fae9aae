// Package pipeline owns the .ferry.yaml schema: parsing with FILE:LINE:COL errors and validation.
//
// Parse checks every key, type and name and returns all the problems at once as an ErrorList, each saying
// what is wrong and how to fix it, so that a user fixes a broken file in one round.
//
// It is pure: it reads bytes it is given and imports no I/O package (no os, no net, no exec).
package pipeline

import (
	"time"

	"github.com/ferry-cd/ferry/internal/gate"
)

// FileName is the pipeline file at the repository root.
const FileName = ".ferry.yaml"

// Pipeline is a parsed, validated .ferry.yaml.
type Pipeline struct {
	Version int
	// Env is given to every step; a step's own Env overrides it.
	Env    map[string]string
	Stages []Stage
	// Environments is accepted and validated only as far as the core knows it (a name per entry, no
	// duplicates); the deploy work fills in the rest.
	Environments []Environment
}

// Stage is a quality gate made of steps that run in parallel.
type Stage struct {
	Name  string
	Steps []Step
	Pos   Pos
}

// Step is a shell script run with `sh -e` in the run's checkout.
type Step struct {
	Name string
	Run  string
	Env  map[string]string
	// Timeout is zero when the file sets none; the engine applies its default.
	Timeout time.Duration
	// Retries is how many times a failed step is run again (0: run once).
	Retries   int
	Artifacts []string
	Gates     []gate.Gate
	// Secrets names the project secrets given to the step as environment variables.
	Secrets []string
	Pos     Pos
}

// Environment is a place a release runs. The core only knows its name.
type Environment struct {
	Name string
	Pos  Pos
}

// Pos is a 1-based line and column in the pipeline file. Stages, steps and environments record where their
// mapping starts, so that later errors (a failed gate, an unknown secret) can point at the file.
type Pos struct {
	Line int
	Col  int
}
