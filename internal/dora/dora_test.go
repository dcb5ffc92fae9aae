package dora

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// now is the end of the current window; with the default window it starts on March 1st.
var now = time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)

// at is a time in March 2025 (February for a day below 1), UTC.
func at(day, hour, minute int) time.Time {
	return time.Date(2025, 3, day, hour, minute, 0, 0, time.UTC)
}

// deploy is a succeeded rollout that ran for five minutes from start and brought commits made before it.
func deploy(id int64, start time.Time, commitsBefore ...time.Duration) Rollout {
	r := Rollout{ID: id, Release: id, State: StateSucceeded, Started: start, Ended: start.Add(5 * time.Minute)}
	for i, d := range commitsBefore {
		r.Commits = append(r.Commits, Commit{SHA: fmt.Sprintf("c%d-%d", id, i), Time: r.Ended.Add(-d)})
	}
	return r
}

// failing is a rollout that ended in state after five minutes, its failure detected at detected minutes.
func failing(id int64, state string, start time.Time, detected int) Rollout {
	return Rollout{ID: id, Release: id, State: state, Started: start, Ended: start.Add(5 * time.Minute),
		FailureDetected: start.Add(time.Duration(detected) * time.Minute)}
}

// rollback is a human rollback that ran for minutes from start.
func rollback(id int64, state string, start time.Time, minutes int) Rollout {
	return Rollout{ID: id, Release: 1, Rollback: true, State: state, Started: start,
		Ended: start.Add(time.Duration(minutes) * time.Minute)}
}

// summary is what a test checks of a Report, in a form that prints readably when it differs.
type summary struct {
	Deployments, DeployDays int
	PerDay                  float64
	Frequency               Tier
	Leads                   int
	LeadMedian, LeadP90     string
	LeadTier                Tier
	CFR                     string // failures/deployments, "n/a" without deployments
	CFRTier                 Tier
	Failed                  []int64
	Recoveries              int
	Recovery                string
	RecoveryTier            Tier
	Rework                  string // rework/rollouts
	ReworkIDs               []int64
}

func summarize(r Report) summary {
	dur := func(d *Duration) string {
		if d == nil {
			return "n/a"
		}
		return d.Duration().String()
	}
	rate := func(n, d int, r *float64) string {
		if r == nil {
			return "n/a"
		}
		return fmt.Sprintf("%d/%d", n, d)
	}
	df, lt, cfr, rt, rw := r.DeploymentFrequency, r.LeadTime, r.ChangeFailureRate, r.RecoveryTime, r.ReworkRate
	return summary{
		Deployments: df.Deployments, DeployDays: df.DeployDays, PerDay: df.PerDay, Frequency: df.Tier,
		Leads: lt.Count, LeadMedian: dur(lt.Median), LeadP90: dur(lt.P90), LeadTier: lt.Tier,
		CFR: rate(cfr.Failures, cfr.Deployments, cfr.Rate), CFRTier: cfr.Tier, Failed: cfr.FailedRollouts,
		Recoveries: rt.Count, Recovery: dur(rt.Median), RecoveryTier: rt.Tier,
		Rework: rate(rw.Rework, rw.Rollouts, rw.Rate), ReworkIDs: rw.ReworkRollouts,
	}
}

func TestCompute(t *testing.T) {
	none := summary{Frequency: Low, LeadMedian: "n/a", LeadP90: "n/a", CFR: "n/a", Recovery: "n/a", Rework: "n/a"}
	tests := []struct {
		name     string
		rollouts []Rollout
		want     summary
	}{
		{"no deployments at all", nil, none},
		{"a single deployment", []Rollout{deploy(1, at(10, 9, 0), 3*time.Hour)},
			summary{Deployments: 1, DeployDays: 1, PerDay: 1.0 / 30, Frequency: Medium,
				Leads: 1, LeadMedian: "3h0m0s", LeadP90: "3h0m0s", LeadTier: Elite,
				CFR: "0/1", CFRTier: Elite, Recovery: "n/a", Rework: "0/1"}},
		{"several deployments across days, counted by UTC day", []Rollout{
			deploy(1, at(2, 9, 0)),
			deploy(2, at(2, 23, 50)), // ends 23:55, still March 2nd
			deploy(3, at(2, 23, 58)), // ends 00:03 on March 3rd
			// 18:00 in New York on March 10th is 23:00 UTC, the same UTC day as the next one.
			deploy(4, time.Date(2025, 3, 10, 18, 0, 0, 0, time.FixedZone("EST", -5*3600))),
			deploy(5, at(10, 8, 0)),
			deploy(6, at(20, 8, 0)),
		}, summary{Deployments: 6, DeployDays: 4, PerDay: 6.0 / 30, Frequency: High, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "0/6", CFRTier: Elite, Recovery: "n/a", Rework: "0/6"}},
		{"lead times: nearest-rank median and p90", []Rollout{
			deploy(1, at(5, 9, 0), 1*time.Hour, 2*time.Hour, 3*time.Hour, 4*time.Hour),
			deploy(2, at(6, 9, 0), 5*time.Hour, 6*time.Hour, 7*time.Hour, 8*time.Hour, 9*time.Hour, 50*time.Hour),
		}, summary{Deployments: 2, DeployDays: 2, PerDay: 2.0 / 30, Frequency: Medium,
			Leads: 10, LeadMedian: "5h0m0s", LeadP90: "9h0m0s", LeadTier: Elite,
			CFR: "0/2", CFRTier: Elite, Recovery: "n/a", Rework: "0/2"}},
		{"a canary rolled back by analysis", []Rollout{
			deploy(1, at(5, 9, 0)),
			failing(2, StateRolledBack, at(6, 9, 0), 2), // found bad at 9:02, traffic back at 9:05
			deploy(3, at(7, 9, 0)),
		}, summary{Deployments: 2, DeployDays: 2, PerDay: 2.0 / 30, Frequency: Medium, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "1/3", CFRTier: Low, Failed: []int64{2},
			Recoveries: 1, Recovery: "3m0s", RecoveryTier: Elite, Rework: "1/3", ReworkIDs: []int64{3}}},
		{"a rollback during bake", []Rollout{
			deploy(1, at(5, 9, 0)),
			// All traffic on the new release at 9:04, analysis fails at 9:04 while it bakes, traffic back at 9:05.
			failing(2, StateRolledBack, at(6, 9, 0), 4),
			deploy(3, at(7, 9, 0)), deploy(4, at(8, 9, 0)), deploy(5, at(9, 9, 0)), deploy(6, at(10, 9, 0)),
		}, summary{Deployments: 5, DeployDays: 5, PerDay: 5.0 / 30, Frequency: High, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "1/6", CFRTier: High, Failed: []int64{2},
			Recoveries: 1, Recovery: "1m0s", RecoveryTier: Elite, Rework: "1/6", ReworkIDs: []int64{3}}},
		{"an abort", []Rollout{
			deploy(1, at(5, 9, 0)),
			{ID: 2, State: StateAborted, Started: at(6, 9, 0), FailureDetected: at(6, 9, 20), Ended: at(6, 9, 21)},
		}, summary{Deployments: 1, DeployDays: 1, PerDay: 1.0 / 30, Frequency: Medium, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "1/2", CFRTier: Low, Failed: []int64{2},
			Recoveries: 1, Recovery: "1m0s", RecoveryTier: Elite, Rework: "0/2"}},
		{"a manual rollback after a release went live", []Rollout{
			deploy(1, at(5, 9, 0)),
			deploy(2, at(6, 9, 0)),
			rollback(3, StateSucceeded, at(6, 14, 0), 3), // a human noticed at 14:00; back on release 1 at 14:03
		}, summary{Deployments: 2, DeployDays: 2, PerDay: 2.0 / 30, Frequency: Medium, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "1/2", CFRTier: Low, Failed: []int64{2},
			Recoveries: 1, Recovery: "3m0s", RecoveryTier: Elite, Rework: "1/3", ReworkIDs: []int64{3}}},
		{"a rollback that failed, then one that worked: recovery from the first", []Rollout{
			deploy(1, at(5, 9, 0)),
			deploy(2, at(6, 9, 0)),
			rollback(3, StateFailed, at(6, 14, 0), 3),
			rollback(4, StateSucceeded, at(6, 16, 0), 5),
		}, summary{Deployments: 2, DeployDays: 2, PerDay: 2.0 / 30, Frequency: Medium, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "1/2", CFRTier: Low, Failed: []int64{2},
			Recoveries: 1, Recovery: "2h5m0s", RecoveryTier: High, Rework: "2/4", ReworkIDs: []int64{3, 4}}},
		{"a rollback blames the release that was live, not an older one", []Rollout{
			deploy(1, at(5, 9, 0)),
			deploy(2, at(6, 9, 0)),
			failing(3, StateRolledBack, at(6, 10, 0), 1), // release 2 stays live
			rollback(4, StateSucceeded, at(6, 12, 0), 2),
		}, summary{Deployments: 2, DeployDays: 2, PerDay: 2.0 / 30, Frequency: Medium, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "2/3", CFRTier: Low, Failed: []int64{2, 3},
			Recoveries: 2, Recovery: "2m0s", RecoveryTier: Elite, Rework: "1/4", ReworkIDs: []int64{4}}},
		{"rollouts outside the window or in flight are ignored", []Rollout{
			deploy(1, at(0, 9, 0)), // ended February 28th: previous window
			{ID: 2, State: StateSucceeded, Started: at(0, 23, 0), Ended: at(1, 0, 0)}, // ends on the window's first instant
			deploy(3, at(30, 23, 55)), // ends at now: not yet
			{ID: 4, State: "progressing", Started: at(30, 20, 0)},
			{ID: 5, State: "paused", Started: at(30, 21, 0), Ended: at(30, 21, 5)},
		}, summary{Deployments: 1, DeployDays: 1, PerDay: 1.0 / 30, Frequency: Medium, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "0/1", CFRTier: Elite, Recovery: "n/a", Rework: "0/1"}},
		{"a failed rollout never had traffic, but the next one is rework", []Rollout{
			deploy(1, at(5, 9, 0)),
			failing(2, StateFailed, at(6, 9, 0), 3),
			deploy(3, at(6, 10, 0)),
		}, summary{Deployments: 2, DeployDays: 2, PerDay: 2.0 / 30, Frequency: Medium, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "0/2", CFRTier: Elite, Recovery: "n/a", Rework: "1/3", ReworkIDs: []int64{3}}},
		{"superseded and never-started rollouts are ignored", []Rollout{
			deploy(1, at(5, 9, 0)),
			failing(2, StateFailed, at(6, 9, 0), 3),
			{ID: 3, State: StateSuperseded, Ended: at(6, 9, 30)},
			{ID: 4, State: StateAborted, Ended: at(6, 9, 40), FailureDetected: at(6, 9, 40)}, // aborted while queued
			deploy(5, at(6, 10, 0)),                                                          // still right after the failed one
		}, summary{Deployments: 2, DeployDays: 2, PerDay: 2.0 / 30, Frequency: Medium, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "0/2", CFRTier: Elite, Recovery: "n/a", Rework: "1/3", ReworkIDs: []int64{5}}},
		{"input order does not matter", []Rollout{
			deploy(3, at(7, 9, 0)),
			failing(2, StateRolledBack, at(6, 9, 0), 2),
			deploy(1, at(5, 9, 0)),
		}, summary{Deployments: 2, DeployDays: 2, PerDay: 2.0 / 30, Frequency: Medium, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "1/3", CFRTier: Low, Failed: []int64{2},
			Recoveries: 1, Recovery: "3m0s", RecoveryTier: Elite, Rework: "1/3", ReworkIDs: []int64{3}}},
		{"elite frequency: more than once a day", func() []Rollout {
			var rs []Rollout
			for i := range 31 {
				rs = append(rs, deploy(int64(i+1), at(1, 0, 0).Add(time.Duration(i)*23*time.Hour)))
			}
			return rs
		}(), summary{Deployments: 31, DeployDays: 29, PerDay: 31.0 / 30, Frequency: Elite, LeadMedian: "n/a",
			LeadP90: "n/a", CFR: "0/31", CFRTier: Elite, Recovery: "n/a", Rework: "0/31"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(Compute(tt.rollouts, now, 0))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLeadTimeCommits(t *testing.T) {
	shared := Commit{SHA: "shared", Time: at(5, 8, 0)}
	rs := []Rollout{
		// Before the window: brings "old", so its redeploy below is not a new change.
		{ID: 1, State: StateSucceeded, Started: at(0, 9, 0), Ended: at(0, 10, 0),
			Commits: []Commit{{SHA: "old", Time: at(0, 8, 0)}}},
		{ID: 2, State: StateSucceeded, Started: at(5, 9, 0), Ended: at(5, 10, 0), Commits: []Commit{shared}},
		{ID: 3, Rollback: true, State: StateSucceeded, Started: at(5, 11, 0), Ended: at(5, 11, 5)},
		// The redeploy after the rollback lists "shared" and "old" again; neither is new.
		{ID: 4, State: StateSucceeded, Started: at(6, 9, 0), Ended: at(6, 10, 0), Commits: []Commit{
			shared, {SHA: "old", Time: at(0, 8, 0)},
			{SHA: "unknown-time"},
			{SHA: "skewed", Time: at(6, 10, 30)}, // committed "after" it was deployed: clock skew, counts as 0
			{Time: at(6, 6, 0)},                  // no SHA: counted, 4h
		}},
		// A rolled back rollout brings nothing to production even if it lists commits.
		{ID: 5, State: StateRolledBack, Started: at(7, 9, 0), Ended: at(7, 10, 0), FailureDetected: at(7, 9, 30),
			Commits: []Commit{{SHA: "bad", Time: at(7, 8, 0)}}},
	}
	lt := Compute(rs, now, 0).LeadTime
	got := []string{lt.Median.Duration().String(), lt.P90.Duration().String()}
	// shared 2h, skewed 0, no-SHA 4h: sorted 0, 2h, 4h.
	if lt.Count != 3 || !reflect.DeepEqual(got, []string{"2h0m0s", "4h0m0s"}) {
		t.Errorf("count %d, median and p90 %v; want 3, [2h0m0s 4h0m0s]", lt.Count, got)
	}
}

func TestPreviousWindow(t *testing.T) {
	rs := []Rollout{
		// Previous window (January 30th to March 1st): two deployments, the second rolled back by a human only
		// in the current window, so it counts as a failure of the previous window.
		deploy(1, at(-20, 9, 0), 10*time.Hour), // February 8th
		deploy(2, at(-1, 9, 0), 20*time.Hour),  // February 27th
		rollback(3, StateSucceeded, at(2, 9, 0), 30),
		// Current window: four deployments, none failed, shorter lead times.
		deploy(4, at(3, 9, 0), 1*time.Hour),
		deploy(5, at(4, 9, 0), 2*time.Hour),
		deploy(6, at(5, 9, 0), 3*time.Hour),
		deploy(7, at(6, 9, 0), 4*time.Hour),
	}
	r := Compute(rs, now, 0)
	if r.Previous == nil || r.Trend == nil {
		t.Fatal("Previous or Trend is nil")
	}
	if r.Previous.Previous != nil || r.Previous.Trend != nil {
		t.Error("Previous has its own Previous or Trend; want one level only")
	}
	prev := summarize(*r.Previous)
	wantPrev := summary{Deployments: 2, DeployDays: 2, PerDay: 2.0 / 30, Frequency: Medium,
		Leads: 2, LeadMedian: "10h0m0s", LeadP90: "20h0m0s", LeadTier: Elite,
		CFR: "1/2", CFRTier: Low, Failed: []int64{2}, Recoveries: 1, Recovery: "30m0s", RecoveryTier: Elite,
		Rework: "0/2"}
	if !reflect.DeepEqual(prev, wantPrev) {
		t.Errorf("previous:\ngot  %+v\nwant %+v", prev, wantPrev)
	}
	if !r.Previous.From.Equal(at(-29, 0, 0)) || !r.Previous.To.Equal(at(1, 0, 0)) {
		t.Errorf("previous window %v to %v", r.Previous.From, r.Previous.To)
	}
	want := Trend{DeploymentFrequency: Better, LeadTime: Better, ChangeFailureRate: Better,
		RecoveryTime: NotAvailable, ReworkRate: Worse}
	if *r.Trend != want {
		t.Errorf("trend %+v, want %+v", *r.Trend, want)
	}
}

func TestDirection(t *testing.T) {
	v := func(f float64) *float64 { return &f }
	tests := []struct {
		cur, prev      *float64
		higherIsBetter bool
		want           Direction
	}{
		{v(2), v(1), true, Better},
		{v(1), v(2), true, Worse},
		{v(0), v(0), true, Same},
		{v(2), v(1), false, Worse},
		{v(1), v(2), false, Better},
		{v(0.5), v(0.5), false, Same},
		{nil, v(1), false, NotAvailable},
		{v(1), nil, false, NotAvailable},
		{nil, nil, true, NotAvailable},
	}
	for _, tt := range tests {
		if got := direction(tt.cur, tt.prev, tt.higherIsBetter); got != tt.want {
			t.Errorf("direction(%v, %v, %v) = %s, want %s", tt.cur, tt.prev, tt.higherIsBetter, got, tt.want)
		}
	}
}

func TestTrendOfAnEmptyHistory(t *testing.T) {
	want := Trend{DeploymentFrequency: Same, LeadTime: NotAvailable, ChangeFailureRate: NotAvailable,
		RecoveryTime: NotAvailable, ReworkRate: NotAvailable}
	if got := *Compute(nil, now, 7*day).Trend; got != want {
		t.Errorf("trend %+v, want %+v", got, want)
	}
}

func TestWindowLength(t *testing.T) {
	r := Compute([]Rollout{deploy(1, at(29, 9, 0)), deploy(2, at(30, 9, 0)), deploy(3, at(20, 9, 0))}, now, 2*day)
	df := r.DeploymentFrequency
	if df.Deployments != 2 || df.PerDay != 1 || df.PerWeek != 7 || df.DeployDaysPerWeek != 7 || df.Tier != High {
		t.Errorf("2-day window: %+v", df)
	}
	if r.Window.Text != "2d" || !r.From.Equal(at(29, 0, 0)) {
		t.Errorf("window %+v from %v", r.Window, r.From)
	}
	// A 12-hour window that is not aligned on midnight touches two days: deploy-days per week stop at 7.
	r = Compute([]Rollout{deploy(1, at(29, 19, 0)), deploy(2, at(30, 1, 0))}, at(30, 6, 0), 12*time.Hour)
	if df := r.DeploymentFrequency; df.DeployDays != 2 || df.DeployDaysPerWeek != 7 {
		t.Errorf("12-hour window: %+v", df)
	}
}

func TestPercentile(t *testing.T) {
	h := time.Hour
	tests := []struct {
		ds       []time.Duration
		p        int
		want     time.Duration
		describe string
	}{
		{[]time.Duration{7 * h}, 50, 7 * h, "one value"},
		{[]time.Duration{2 * h, 1 * h}, 50, 1 * h, "even count: the lower middle"},
		{[]time.Duration{3 * h, 1 * h, 2 * h}, 50, 2 * h, "odd count: the middle"},
		{[]time.Duration{3 * h, 1 * h, 2 * h}, 90, 3 * h, "p90 of three is the largest"},
		{[]time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9, "p90 of ten is the ninth"},
		{[]time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 90, 10, "p90 of eleven is the tenth"},
		{[]time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 50, 5, "median of ten is the fifth"},
	}
	for _, tt := range tests {
		if got := percentile(tt.ds, tt.p); got != tt.want {
			t.Errorf("%s: p%d = %v, want %v", tt.describe, tt.p, got, tt.want)
		}
	}
}

func TestReportJSON(t *testing.T) {
	r := Compute([]Rollout{deploy(1, at(10, 9, 0), 90*time.Minute), failing(2, StateFailed, at(11, 9, 0), 1)},
		now, 0)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	lt := m["lead_time"].(map[string]any)
	if got := lt["median"]; !reflect.DeepEqual(got, map[string]any{"seconds": 5400.0, "text": "1h 30m"}) {
		t.Errorf("lead_time.median = %v", got)
	}
	if rt := m["recovery_time"].(map[string]any); rt["median"] != nil || rt["tier"] != nil {
		t.Errorf("recovery_time = %v, want null median and tier", rt)
	}
	if m["previous"].(map[string]any)["change_failure_rate"].(map[string]any)["rate"] != nil {
		t.Errorf("previous change_failure_rate.rate is not null: %s", b)
	}
	if got := m["trend"].(map[string]any)["change_failure_rate"]; got != "n/a" {
		t.Errorf("trend.change_failure_rate = %v", got)
	}

	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("the report does not survive JSON:\ngot  %+v\nwant %+v", back, r)
	}
}

func TestSeries(t *testing.T) {
	week := 7 * 24 * time.Hour
	rollouts := []Rollout{
		deploy(1, at(4, 10, 0), time.Hour),            // week ending Mar 10
		deploy(2, at(12, 10, 0), 2*time.Hour),         // week ending Mar 17
		deploy(3, at(13, 10, 0), time.Hour),           // same week
		failing(4, StateRolledBack, at(27, 10, 0), 2), // week ending Mar 31
		deploy(5, at(30, 23, 58), time.Hour),          // ends after now: not yet
		deploy(6, at(-40, 10, 0), time.Hour),          // long before the series
		{ID: 7, Release: 7, State: StateSuperseded},   // never ran
	}
	got := Series(rollouts, now, week, 4)
	if len(got) != 4 {
		t.Fatalf("%d reports, want 4", len(got))
	}
	var deployments []int
	for i, r := range got {
		deployments = append(deployments, r.DeploymentFrequency.Deployments)
		if want := now.Add(-time.Duration(3-i) * week); !r.To.Equal(want) || !r.From.Equal(want.Add(-week)) {
			t.Errorf("report %d covers [%v, %v), want [%v, %v)", i, r.From, r.To, want.Add(-week), want)
		}
		if r.Previous != nil || r.Trend != nil {
			t.Errorf("report %d has a Previous or a Trend", i)
		}
	}
	if fmt.Sprint(deployments) != "[1 2 0 0]" {
		t.Errorf("deployments per week %v, want [1 2 0 0]", deployments)
	}
	if r := got[3].ChangeFailureRate; r.Deployments != 1 || r.Failures != 1 {
		t.Errorf("last week's change failure rate %+v, want 1 of 1", r)
	}
	// The last report is Compute's over the same window, without Previous and Trend.
	c := Compute(rollouts, now, week)
	c.Previous, c.Trend = nil, nil
	if !reflect.DeepEqual(summarize(c), summarize(got[3])) {
		t.Errorf("last of the series %+v, Compute %+v", summarize(got[3]), summarize(c))
	}
	if len(Series(rollouts, now, week, 0)) != 0 {
		t.Errorf("a series of 0 reports is not empty")
	}
}
