package gate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestFormatTable(t *testing.T) {
	gates := []Gate{
		{Metric: "latency_p95_ms", Max: val(50), MaxIncrease: &Change{Value: 10, Percent: true}},
		{Metric: "pass_rate", Min: val(0.9), MaxDecrease: &Change{Value: 0.02}},
		{Metric: "errors", Max: val(0), MaxIncrease: &Change{Value: 5, Percent: true}},
		{Metric: "heap_mb", MaxIncrease: &Change{Value: 5, Percent: true}},
		{Metric: "bundle_bytes", MaxIncrease: &Change{Value: 1, Percent: true}},
		{Metric: "cold_start_ms", Max: val(900)},
	}
	current := []Metric{
		{Name: "latency_p95_ms", Value: 45.1, Unit: "ms", Direction: LowerIsBetter},
		{Name: "pass_rate", Value: 0.97, Direction: HigherIsBetter},
		{Name: "errors", Value: 2, Direction: LowerIsBetter},
		{Name: "heap_mb", Value: 230},
		{Name: "bundle_bytes", Value: 2345678},
	}
	baseline := []Metric{
		{Name: "latency_p95_ms", Value: 41, Direction: LowerIsBetter},
		{Name: "pass_rate", Value: 0.96},
		{Name: "errors", Value: 0},
		{Name: "heap_mb", Value: 200},
	}
	var buf bytes.Buffer
	if err := FormatTable(&buf, Evaluate(gates, current, baseline, true)); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("FormatTable:\n%s\nwant (%s):\n%s", got, golden, want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestFormatTableWriteError(t *testing.T) {
	if err := FormatTable(failWriter{}, nil); err == nil {
		t.Error("FormatTable to a failing writer: no error")
	}
}
