package pipeline

import (
	"strings"
	"testing"
)

func TestAddFlagsFile(t *testing.T) {
	const base = "version: 1\nstages:\n  - name: build\n    steps: [{name: compile, run: \"true\"}]\n"
	const file = "flags:\n  copy:\n    variants: {short: Buy, long: Buy now}\n    default: short\n"
	pl, err := Parse(FileName, []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.AddFlagsFile([]byte(file)); err != nil {
		t.Fatal(err)
	}
	if pl.Flags == nil || strings.Join(pl.Flags.Keys(), ",") != "copy" {
		t.Fatalf("flags %v", pl.Flags)
	}
	// Problems are reported in the flags file.
	pl, _ = Parse(FileName, []byte(base))
	if err := pl.AddFlagsFile([]byte("flags:\n  copy:\n    variants: {a: 1}\n    default: b\n")); err == nil || !strings.HasPrefix(err.Error(), FlagsFile+":4:14: ") {
		t.Errorf("bad default: %v, want an error at %s:4:14", err, FlagsFile)
	}
	// Flags in two places are refused.
	pl, err = Parse(FileName, []byte(base+file))
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.AddFlagsFile([]byte(file)); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("flags in both places: %v", err)
	}
}
