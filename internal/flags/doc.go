// Package flags owns ferry's feature flags: the schema of .ferry/flags.yaml (or of the flags: section of
// .ferry.yaml), parsing with FILE:LINE:COL errors, and evaluation.
//
// Parse and ParseNode check every key, type and reference, compile conditions (regular expressions,
// versions) and return all problems at once as an ErrorList. The resulting Set never changes and is safe
// for concurrent use:
//
//	set, err := flags.Parse(".ferry/flags.yaml", data)
//	res := set.Evaluate("new-checkout", map[string]any{"targetingKey": "user-42"}, nil)
//	// res.Variant, res.Value, res.Reason ("SPLIT"...), res.ErrorCode ("" when it worked)
//
// What is not in Git, the operators' overrides and the progress of progressive rollouts, comes with each
// evaluation as a *State, which the server keeps. A Set marshals to JSON and back, for storing it with a
// release; the round trip changes no evaluation.
//
// Splits hash like flagd's fractional operator (see Bucket), so ferry and flagd put a user in the same
// bucket. docs/flags.md is the user's reference.
//
// The package is pure: it reads the bytes it is given and imports no I/O package (no os, net, exec); the
// OFREP HTTP handler is in internal/ofrep.
package flags
