package evals

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseJSONL(t *testing.T) {
	data := `{"id": "refund-window", "tags": ["policy"], "scores": {"similarity": 0.92}, "pass": true, "input": "How long?", "expected": "30 days", "output": {"answer": "30 days"}}

{"id": "greeting", "pass": false, "reason": "rude"}
`
	got, err := Parse(JSONL, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []Case{
		{ID: "refund-window", Tags: []string{"policy"}, Scores: map[string]float64{"similarity": 0.92}, Pass: true,
			Input: "How long?", Expected: "30 days", Output: `{"answer":"30 days"}`},
		{ID: "greeting", Pass: false, Reason: "rude"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("x", MaxIDBytes+1)
	for _, tc := range []struct {
		name   string
		format Format
		data   string
		want   string
	}{
		{"no pass", JSONL, `{"id": "a"}`, `line 1: no "pass"`},
		{"no id", JSONL, `{"pass": true}`, `line 1: no "id"`},
		{"misspelt key", JSONL, `{"id": "a", "passed": true}`, `line 1: unknown field "passed"`},
		{"not json", JSONL, "{\"id\": \"a\", \"pass\": true}\nnope", "line 2: not a JSON object"},
		{"two values", JSONL, `{"id": "a", "pass": true} {"id": "b", "pass": true}`, "line 1: more than one JSON value"},
		{"wrong type", JSONL, `{"id": 3, "pass": true}`, "line 1: cannot unmarshal number"},
		{"duplicate", JSONL, "{\"id\": \"a\", \"pass\": true}\n{\"id\": \"a\", \"pass\": false}", `case 2: duplicate id "a" (also case 1)`},
		{"empty id", JSONL, `{"id": "", "pass": true}`, "case 1: id is empty"},
		{"long id", JSONL, `{"id": "` + long + `", "pass": true}`, "case 1: id is longer than 256 bytes"},
		{"control in id", JSONL, `{"id": "a\u001b[31m", "pass": true}`, "case 1: id has a control character"},
		{"too many tags", JSONL, `{"id": "a", "pass": true, "tags": ["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]}`, "case 1: 17 tags; at most 16"},
		{"promptfoo without results", Promptfoo, `{"evalId": "x"}`, `promptfoo output: no "results"`},
		{"promptfoo --no-write", Promptfoo, `{"results": {"version": 3, "results": []}}`, "promptfoo output holds no results; run promptfoo eval without --no-write"},
		{"promptfoo not json", Promptfoo, `<html>`, "promptfoo output: invalid character"},
		{"junit wrong root", JUnit, `<html></html>`, "junit: the root element is <html>"},
		{"junit empty", JUnit, ``, "junit: no <testsuites> or <testsuite> element"},
		{"junit bad score", JUnit, `<testsuite><testcase name="a"><properties><property name="score" value="high"/></properties></testcase></testsuite>`, `junit: case 1: property "score" is not a number`},
		{"junit broken", JUnit, `<testsuite><testcase name="a">`, "junit: XML syntax error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.format, []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseTooManyCases(t *testing.T) {
	var b strings.Builder
	for i := range MaxCases + 1 {
		b.WriteString(`{"id": "c` + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + `", "pass": true}` + "\n")
	}
	_, err := ParseJSONL([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than 5000 cases") {
		t.Fatalf("err = %v", err)
	}
}

func TestLongTextsAreCut(t *testing.T) {
	out := strings.Repeat("é", MaxText) // 2 bytes each: cut inside would split a rune
	cs, err := Parse(JSONL, []byte(`{"id": "a", "pass": true, "output": "`+out+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	got := cs[0].Output
	if len(got) > MaxText || !strings.HasSuffix(got, "(cut by ferry at 4 KiB)") || !strings.HasPrefix(got, "éé") {
		t.Fatalf("output of %d bytes ends %q", len(got), got[len(got)-40:])
	}
	if strings.ContainsRune(got, '\uFFFD') {
		t.Fatal("the cut split a rune")
	}
}

func TestParseJUnit(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []Case
	}{
		{"testdata/pytest.xml", []Case{
			{ID: "tests.test_bot.test_refund[window]", Tags: []string{"policy", "accuracy"}, Scores: map[string]float64{"similarity": 0.91}, Pass: true},
			{ID: "tests.test_bot.test_refund[escalate]", Pass: false, Reason: "AssertionError: assert 'no' == 'yes'",
				Output: "def test_refund(): assert answer == 'yes'\nmodel said: no"},
			{ID: "tests.test_bot.test_setup", Pass: false, Reason: "fixture failed", Output: "Traceback"},
		}},
		{"testdata/go-junit-report.xml", []Case{
			{ID: "example.com/bot.TestAnswer/greeting", Pass: true},
			{ID: "example.com/bot.TestAnswer/refund", Pass: false, Reason: "Failed", Output: `bot_test.go:12: got "no", want "yes"`},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(JUnit, data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// testdata/promptfoo-0.118.0.json is what promptfoo 0.118.0 wrote for two tests through its exec: provider.
func TestParsePromptfoo(t *testing.T) {
	data, err := os.ReadFile("testdata/promptfoo-0.118.0.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(Promptfoo, data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Case{
		{ID: "refund-window", Tags: []string{"policy", "accuracy"}, Scores: map[string]float64{"score": 1}, Pass: true,
			Input: "Answer the customer: what is the refund window?", Expected: "contains: 30 days",
			Output: "You have 30 days to return it.", Reason: "All assertions passed"},
		{ID: "shipping", Tags: []string{"accuracy"}, Scores: map[string]float64{"score": 0}, Pass: false,
			Input: "Answer the customer: how long is shipping?", Expected: "icontains: 5 days",
			Output: "I do not know.", Reason: `Expected output to contain "5 days"`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}
