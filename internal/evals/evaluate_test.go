package evals

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/gate"
)

// golden makes n cases c01..cNN that pass, tagged "safety" for the first five and "accuracy" for the rest,
// with a "similarity" score of 0.9; fail lists the numbers that fail instead.
func golden(n int, fail ...int) []Case {
	failing := map[int]bool{}
	for _, f := range fail {
		failing[f] = true
	}
	cs := make([]Case, n)
	for i := range cs {
		tag := "accuracy"
		if i < 5 {
			tag = "safety"
		}
		cs[i] = Case{ID: fmt.Sprintf("c%02d", i+1), Tags: []string{tag}, Pass: !failing[i+1], Scores: map[string]float64{"similarity": 0.9}}
		if failing[i+1] {
			cs[i].Scores["similarity"] = 0.2
		}
	}
	return cs
}

func fp(v float64) *float64 { return &v }

func TestEvaluate(t *testing.T) {
	flaky := golden(30, 7)
	flaky[6].Flaky = true
	for _, tc := range []struct {
		name         string
		g            Gate
		cur, base    []Case
		haveBaseline bool
		want         []gate.Verdict
	}{
		{"three broken", Gate{NewFailures: &Count{}}, golden(30, 4, 12, 20), golden(30, 25), true, []gate.Verdict{
			{Metric: "new_failures", Bound: "max 0", Current: fp(3), Reason: "3 > max 0: c04, c12, c20"}}},
		{"fixed two, broke none", Gate{NewFailures: &Count{}}, golden(30, 25), golden(30, 12, 20, 25), true, []gate.Verdict{
			{Metric: "new_failures", Bound: "max 0", Current: fp(0), Pass: true}}},
		{"within max", Gate{NewFailures: &Count{Max: 1}}, golden(30, 9), golden(30), true, []gate.Verdict{
			{Metric: "new_failures", Bound: "max 1", Current: fp(1), Pass: true}}},
		{"no baseline", Gate{NewFailures: &Count{}}, golden(30, 1), nil, false, []gate.Verdict{
			{Metric: "new_failures", Bound: "max 0", Pass: true, Reason: "no baseline"}}},
		{"flaky is not a regression", Gate{NewFailures: &Count{}}, flaky, golden(30), true, []gate.Verdict{
			{Metric: "new_failures", Bound: "max 0", Current: fp(0), Pass: true, Reason: "flaky, not counted: c07"}}},
		{"new failures of a tag", Gate{Tag: "safety", NewFailures: &Count{}}, golden(30, 2, 12), golden(30), true, []gate.Verdict{
			{Metric: "new_failures[safety]", Bound: "max 0", Current: fp(1), Reason: "1 > max 0: c02"}}},
		{"safety must all pass", Gate{Tag: "safety", Failures: &Count{}}, golden(30, 3, 5, 20), nil, false, []gate.Verdict{
			{Metric: "failures[safety]", Bound: "max 0", Current: fp(2), Reason: "2 > max 0: c03, c05"}}},
		{"safety all pass", Gate{Tag: "safety", Failures: &Count{}}, golden(30, 20), nil, false, []gate.Verdict{
			{Metric: "failures[safety]", Bound: "max 0", Current: fp(0), Pass: true}}},
		{"unknown tag", Gate{Tag: "saftey", Failures: &Count{}}, golden(30), nil, false, []gate.Verdict{
			{Metric: "failures[saftey]", Bound: "max 0", Reason: `no case has tag "saftey"`}}},
		{"unknown tag for new failures", Gate{Tag: "saftey", NewFailures: &Count{}}, golden(30), golden(30), true, []gate.Verdict{
			{Metric: "new_failures[saftey]", Bound: "max 0", Reason: `no case has tag "saftey"`}}},
		{"pass rate below min within noise", Gate{PassRate: &Rate{Min: fp(0.9)}}, golden(30, 1, 2, 3, 4), nil, false, []gate.Verdict{
			{Metric: "pass_rate", Bound: "min 0.9 (95% Wilson)", Current: fp(26.0 / 30), Pass: true,
				Reason: "26/30 passed, 95% CI 0.7032..0.9469: below min within noise"}}},
		{"pass rate below min beyond noise", Gate{PassRate: &Rate{Min: fp(0.9)}}, golden(30, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), nil, false, []gate.Verdict{
			{Metric: "pass_rate", Bound: "min 0.9 (95% Wilson)", Current: fp(20.0 / 30),
				Reason: "20/30 passed, 95% CI 0.4878..0.8077, all below min 0.9: failing c01, c02, c03, c04, c05, c06, c07, c08, c09, c10"}}},
		{"decrease within noise", Gate{PassRate: &Rate{MaxDecrease: fp(0)}}, golden(30, 1, 2), golden(30), true, []gate.Verdict{
			{Metric: "pass_rate", Bound: "max_decrease 0 (95% Wilson)", Baseline: fp(1), Current: fp(28.0 / 30), Change: "-0.06667", Pass: true,
				Reason: "28/30 passed against 30/30, decrease 95% CI -0.05665..0.2132: above max_decrease within noise"}}},
		{"decrease beyond noise", Gate{PassRate: &Rate{MaxDecrease: fp(0.05), Confidence: 0.9}}, golden(30, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), golden(30), true, []gate.Verdict{
			{Metric: "pass_rate", Bound: "max_decrease 0.05 (90% Wilson)", Baseline: fp(1), Current: fp(20.0 / 30), Change: "-0.3333",
				Reason: "20/30 passed against 30/30, decrease 90% CI 0.1855..0.4834, all above max_decrease 0.05"}}},
		{"decrease without baseline", Gate{PassRate: &Rate{MaxDecrease: fp(0.05)}}, golden(30, 1), nil, false, []gate.Verdict{
			{Metric: "pass_rate", Bound: "max_decrease 0.05 (95% Wilson)", Current: fp(29.0 / 30), Pass: true, Reason: "no baseline"}}},
		{"mean score of a tag", Gate{Tag: "accuracy", Score: &Score{Metric: "similarity", Min: fp(0.8)}}, golden(30, 10, 11, 12, 13), golden(30), true, []gate.Verdict{
			{Metric: "mean similarity[accuracy]", Bound: "min 0.8", Baseline: fp(0.9), Current: fp(0.788), Change: "-0.112",
				Reason: "mean of 25 cases 0.788 < min 0.8"}}},
		{"score nobody has", Gate{Score: &Score{Metric: "toxicity", Max: fp(0.1)}}, golden(30), nil, false, []gate.Verdict{
			{Metric: "mean toxicity", Bound: "max 0.1", Reason: `no case has score "toxicity"`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate([]Gate{tc.g}, tc.cur, tc.base, tc.haveBaseline)
			if !reflect.DeepEqual(roundAll(got), roundAll(tc.want)) {
				t.Fatalf("got  %s\nwant %s", show(got), show(tc.want))
			}
		})
	}
}

func TestEvaluateNamesAtMostTwenty(t *testing.T) {
	fail := make([]int, 25)
	for i := range fail {
		fail[i] = i + 1
	}
	v := Evaluate([]Gate{{Failures: &Count{}}}, golden(30, fail...), nil, false)
	if !strings.HasSuffix(v[0].Reason, "c20 and 5 more") {
		t.Fatalf("reason %q", v[0].Reason)
	}
}

func TestCompareAndFlaky(t *testing.T) {
	base := []Case{{ID: "a", Pass: true}, {ID: "b", Pass: false}, {ID: "c", Pass: false}, {ID: "d", Pass: true}, {ID: "gone", Pass: true}, {ID: "e", Pass: true}}
	attempt1 := []Case{{ID: "a", Pass: false}, {ID: "b", Pass: true}, {ID: "c", Pass: false}, {ID: "d", Pass: true}, {ID: "e", Pass: false}, {ID: "new", Pass: false}}
	attempt2 := []Case{{ID: "a", Pass: false}, {ID: "b", Pass: true}, {ID: "c", Pass: false}, {ID: "d", Pass: true}, {ID: "e", Pass: true}, {ID: "new", Pass: false}}
	MarkFlaky(attempt1, attempt2)
	var got []string
	for _, ch := range Compare(attempt2, base) {
		got = append(got, ch.ID+":"+ch.Status.String())
	}
	want := []string{"a:broken", "b:fixed", "c:still_failing", "e:flaky", "new:new", "gone:removed", "d:passing"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// Flaky stays flaky through later attempts even when they agree.
	attempt3 := []Case{{ID: "e", Pass: true}}
	MarkFlaky(attempt2, attempt3)
	if !attempt3[0].Flaky {
		t.Fatal("a case flaky in attempt 2 is not flaky in attempt 3")
	}
}

func roundAll(vs []gate.Verdict) []gate.Verdict {
	out := append([]gate.Verdict(nil), vs...)
	for i := range out {
		for _, p := range []**float64{&out[i].Baseline, &out[i].Current} {
			if *p != nil {
				v := float64(int64(**p*1e6+0.5)) / 1e6
				*p = &v
			}
		}
	}
	return out
}

func show(vs []gate.Verdict) string {
	var b strings.Builder
	gate.FormatTable(&b, vs)
	return "\n" + b.String()
}
