package evals

import (
	"os"
	"testing"
)

// FuzzParseCases feeds every format the same bytes: parsing never panics, and what it accepts keeps the limits
// every stored case relies on.
func FuzzParseCases(f *testing.F) {
	f.Add([]byte(`{"id": "a", "pass": true, "tags": ["x"], "scores": {"s": 1}, "output": {"k": [1, 2]}}`))
	for _, file := range []string{"testdata/pytest.xml", "testdata/go-junit-report.xml", "testdata/promptfoo-0.118.0.json"} {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{JSONL, Promptfoo, JUnit} {
			cs, err := Parse(format, data)
			if err != nil {
				continue
			}
			seen := map[string]bool{}
			for _, c := range cs {
				if c.ID == "" || len(c.ID) > MaxIDBytes || seen[c.ID] || len(c.Output) > MaxText || len(c.Input) > MaxText {
					t.Fatalf("%s accepted a case breaking the limits: %+v", format, c)
				}
				seen[c.ID] = true
			}
		}
	})
}
