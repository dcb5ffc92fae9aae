package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\n",
		"version: 1\nstages: [{name: a, steps: [{<<: &d {name: b, run: c}}, {<<: [*d], name: e}]}]\n",
		"version: 1\nstages: &s [*s]\n",
		"version: 1\nstages:\n  - name: a\n    steps:\n      - name: b\n        run: c\n        gates: [{metric: m, max_increase: 10%}]\n---\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(FileName, data)
		if err != nil {
			var list ErrorList
			if p != nil || !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse = %v, %#v; want no pipeline and a non-empty ErrorList", p, err)
			}
			sorted := slices.IsSortedFunc(list, func(a, b *Error) int {
				if a.Line != b.Line {
					return a.Line - b.Line
				}
				return a.Col - b.Col
			})
			if !sorted {
				t.Fatalf("errors are not sorted:\n%v", err)
			}
			return
		}
		if p.Version != 1 || len(p.Stages) == 0 {
			t.Fatalf("valid pipeline with version %d and %d stages", p.Version, len(p.Stages))
		}
		for _, s := range p.Stages {
			if s.Name == "" || len(s.Steps) == 0 {
				t.Fatalf("valid pipeline with stage %+v", s)
			}
			for _, st := range s.Steps {
				if st.Name == "" || st.Run == "" {
					t.Fatalf("valid pipeline with step %+v", st)
				}
			}
		}
	})
}
