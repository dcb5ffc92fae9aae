package gate

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Metric
	}{
		{"empty", "", nil},
		{"blank", " \n\t", nil},
		{"flat sorted by name", `{"pass_rate": 0.97, "latency_p95_ms": 41.2}`,
			[]Metric{{Name: "latency_p95_ms", Value: 41.2}, {Name: "pass_rate", Value: 0.97}}},
		{"flat empty", `{}`, []Metric{}},
		{"flat metric called metrics", `{"metrics": 3}`, []Metric{{Name: "metrics", Value: 3}}},
		{"flat negative and exponent", `{"a": -1.5e3}`, []Metric{{Name: "a", Value: -1500}}},
		{"list keeps file order", `{"metrics": [
			{"name": "pass_rate", "value": 0.97, "direction": "higher_is_better"},
			{"name": "latency_p95_ms", "value": 41.2, "unit": "ms", "direction": "lower_is_better"},
			{"name": "errors", "value": 0, "unit": null, "direction": ""}]}`,
			[]Metric{
				{Name: "pass_rate", Value: 0.97, Direction: HigherIsBetter},
				{Name: "latency_p95_ms", Value: 41.2, Unit: "ms", Direction: LowerIsBetter},
				{Name: "errors", Value: 0},
			}},
		{"list empty", `{"metrics": []}`, []Metric{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMetrics([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseMetrics: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseMetrics = %#v, want %#v", got, tt.want)
			}
		})
	}
}

const badName = "name is not valid: want a letter or _, then up to 127 letters, digits, _ . : or - (the name is not shown: it may hold a secret)"

func TestParseMetricsErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"latency": "41"}`, `metrics: "latency" is not a number`},
		{`{"latency": null}`, `metrics: "latency" is not a number`},
		{`{"latency": 1e999}`, `metrics: "latency" is out of range (1e999)`},
		{`{"a": 1, "a": 2}`, `metrics: duplicate name "a"`},
		{`{"": 1}`, `metrics: metric 1: a metric name is empty`},
		{`{"ok": 1, "a\tb": 1}`, `metrics: metric 2: ` + badName},
		{`{"ghp_R3al/T0ken+Value=": 1}`, `metrics: metric 1: ` + badName},
		{`{"1st": 1}`, `metrics: metric 1: ` + badName},
		{`{"` + strings.Repeat("a", 129) + `": 1}`, `metrics: metric 1: ` + badName},
		{`{"a b": 1, "a b": 2}`, `metrics: duplicate name (not shown: not a valid name)`},
		{`{"metrics": [{"name": "sk live 123", "value": 1}]}`, `metrics[0]: ` + badName},
		{`{"metrics": [{"name": "a", "value": 1, "unit": "0123456789abcdefXYZ"}]}`,
			`metrics[0]: unit is not valid: want at most 16 printable characters (the unit is not shown: it may hold a secret)`},
		{`{"metrics": [{"name": "a", "value": 1, "my secret": 1}]}`,
			`metrics[0]: unknown field (not shown: not a valid name) (want name, value, unit, direction)`},
		{`{"metrics": [{"name": "a", "value": 1}], "x y": 2}`,
			`metrics: unknown field (not shown: not a valid name) beside the "metrics" list`},
		{`[1, 2]`, `metrics: want a JSON object: {"metrics": [{"name": ..., "value": ...}]} or {"name": value, ...}`},
		{`{"a": 1`, `metrics: line 1, col 7: unexpected end of JSON input`},
		{"{\n  \"a\": NaN}", `metrics: line 2, col 8: invalid character 'N' looking for beginning of value`},
		{`{"a": 1} {}`, `metrics: line 1, col 10: invalid character '{' after top-level value`},
		{`{"metrics": [{"name": "a", "value": 1}], "b": 2}`, `metrics: unknown field "b" beside the "metrics" list`},
		{`{"metrics": [{"name": "a", "value": 1}, {"value": 2}]}`, `metrics[1]: name is missing`},
		{`{"metrics": [{"name": "a"}]}`, `metrics[0]: value is missing`},
		{`{"metrics": [{"name": "a", "value": "1"}]}`, `metrics[0]: value is not a number`},
		{`{"metrics": [{"name": 1, "value": 1}]}`, `metrics[0]: name is not a string`},
		{`{"metrics": [{"name": "a", "value": 1, "unit": 2}]}`, `metrics[0]: unit is not a string`},
		{`{"metrics": [{"name": "a", "value": 1, "direction": 1}]}`, `metrics[0]: direction is not a string`},
		{`{"metrics": [{"name": "a", "value": 1, "direction": "up"}]}`,
			`metrics[0]: unknown direction "up" (want "lower_is_better" or "higher_is_better")`},
		{`{"metrics": [{"name": "a", "value": 1, "units": "ms"}]}`,
			`metrics[0]: unknown field "units" (want name, value, unit, direction)`},
		{`{"metrics": [{"name": "a", "value": 1, "value": 2}]}`, `metrics[0]: duplicate field "value"`},
		{`{"metrics": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]}`,
			`metrics[1]: duplicate name "a" (also metrics[0])`},
		{`{"metrics": [42]}`, `metrics[0]: want an object: {"name": ..., "value": ...}`},
	}
	for _, tt := range tests {
		got, err := ParseMetrics([]byte(tt.in))
		if err == nil {
			t.Errorf("ParseMetrics(%s) = %v, want error %q", tt.in, got, tt.want)
		} else if err.Error() != tt.want {
			t.Errorf("ParseMetrics(%s)\nerror %q\nwant  %q", tt.in, err, tt.want)
		}
	}
}

func TestDirectionJSON(t *testing.T) {
	for _, d := range []Direction{Unspecified, LowerIsBetter, HigherIsBetter} {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Direction
		if err := json.Unmarshal(b, &back); err != nil || back != d {
			t.Errorf("%v: marshalled %s, read back %v, %v", d, b, back, err)
		}
	}
	b, _ := json.Marshal(Metric{Name: "x", Value: 1})
	if want := `{"name":"x","value":1}`; string(b) != want {
		t.Errorf("unspecified direction: got %s, want %s", b, want)
	}
	b, _ = json.Marshal(Metric{Name: "x", Value: 1, Direction: LowerIsBetter})
	if want := `{"name":"x","value":1,"direction":"lower_is_better"}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	if _, err := json.Marshal(Direction(7)); err == nil {
		t.Error("marshalling Direction(7): no error")
	}
	var d Direction
	if err := json.Unmarshal([]byte(`"sideways"`), &d); err == nil {
		t.Error("unmarshalling \"sideways\": no error")
	}
}

// FuzzParseMetrics checks that ParseMetrics never panics, that what it accepts is valid, and that what it
// accepts survives being written back in the list form.
func FuzzParseMetrics(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"a": 1, "b": -2.5e-3}`, `{"metrics": 1}`, `{"metrics": []}`, `{"a": 1, "a": 2}`,
		`{"metrics": [{"name": "a", "value": 1, "unit": "ms", "direction": "lower_is_better"}]}`,
		`{"metrics": [{"name": "a"}, 3, null]}`, `[{"a":1}]`, `{"a": 1e400}`, `{"a":`, `{"\u0000": 1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ParseMetrics(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, m := range ms {
			if !ValidName(m.Name) || !validUnit(m.Unit) || seen[m.Name] || math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
				t.Fatalf("accepted a bad metric %#v from %q", m, data)
			}
			seen[m.Name] = true
		}
		if len(ms) == 0 {
			return
		}
		out, err := json.Marshal(struct {
			Metrics []Metric `json:"metrics"`
		}{ms})
		if err != nil {
			t.Fatalf("marshal %#v: %v", ms, err)
		}
		back, err := ParseMetrics(out)
		if err != nil {
			t.Fatalf("reading back %s: %v", out, err)
		}
		if !reflect.DeepEqual(back, ms) {
			t.Fatalf("round trip of %q:\ngot  %#v\nwant %#v", data, back, ms)
		}
	})
}
