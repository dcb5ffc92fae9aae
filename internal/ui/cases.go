package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ferry-cd/ferry/internal/api"
)

// openRows is how many cases a status group may have and still show open: longer lists start collapsed.
const openRows = 10

// caseTable is one step's cases on the run page, grouped by status.
type caseTable struct {
	api.StepCases
	Run    int64
	Groups []caseGroup
}

// caseGroup is the cases of one status; Open says whether it shows unfolded.
type caseGroup struct {
	Status api.CaseStatus
	Label  string
	Open   bool
	Cases  []api.CaseChange
}

// caseTables groups each step's cases by status for the run page. Changes show open when short; cases
// passing in both runs, and any long list, start collapsed.
func caseTables(rc *api.RunCases) []caseTable {
	var out []caseTable
	for _, sc := range rc.Steps {
		t := caseTable{StepCases: sc, Run: rc.Run}
		for _, st := range api.CaseStatuses {
			var g []api.CaseChange
			for _, ch := range sc.Cases {
				if ch.Status == st {
					g = append(g, ch)
				}
			}
			if len(g) > 0 {
				t.Groups = append(t.Groups, caseGroup{Status: st, Label: statusLabel(st), Cases: g,
					Open: st != api.CasePassing && len(g) <= openRows})
			}
		}
		out = append(out, t)
	}
	return out
}

func statusLabel(st api.CaseStatus) string { return strings.ReplaceAll(string(st), "_", " ") }

// caseCounts sums up a step's cases: "3 broken, 2 fixed, 25 passing".
func caseCounts(counts map[api.CaseStatus]int) string {
	var parts []string
	for _, st := range api.CaseStatuses {
		if n := counts[st]; n > 0 {
			parts = append(parts, strconv.Itoa(n)+" "+statusLabel(st))
		}
	}
	return strings.Join(parts, ", ")
}

// passWord is pass, fail or — (a case missing from that run).
func passWord(p *bool) string {
	switch {
	case p == nil:
		return "—"
	case *p:
		return "pass"
	}
	return "fail"
}

// scorePair is one score of a case beside the baseline's.
type scorePair struct {
	Name          string
	Baseline, Now string
	Better, Worse bool
}

func scorePairs(now, base map[string]float64) []scorePair {
	names := map[string]bool{}
	for k := range now {
		names[k] = true
	}
	for k := range base {
		names[k] = true
	}
	var out []scorePair
	for k := range names {
		p := scorePair{Name: k, Baseline: scoreText(base, k), Now: scoreText(now, k)}
		b, hasB := base[k]
		n, hasN := now[k]
		if hasB && hasN {
			p.Better, p.Worse = n > b, n < b
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b scorePair) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func scoreText(m map[string]float64, k string) string {
	v, ok := m[k]
	if !ok {
		return "—"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// caseLink is the dashboard's page of one case.
func caseLink(run int64, index int, id string) string {
	return "/ui/runs/" + strconv.FormatInt(run, 10) + "/steps/" + strconv.Itoa(index) + "/cases/" + url.PathEscape(id)
}

// casePage shows one case of a run whole, beside the baseline's: input, expected, output, reason, scores.
func (d *Dashboard) casePage(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx, c := r.Context(), d.client(v)
	var cv api.CaseView
	path := "/api/v1/runs/" + url.PathEscape(r.PathValue("id")) + "/steps/" + url.PathEscape(r.PathValue("index")) +
		"/cases/" + url.PathEscape(r.PathValue("case"))
	if err := c.Get(ctx, path, &cv); err != nil {
		d.fail(w, r, v, err)
		return
	}
	var now, base map[string]float64
	id := r.PathValue("case")
	if cv.Case != nil {
		now = cv.Case.Scores
	}
	if cv.Baseline != nil {
		base = cv.Baseline.Scores
	}
	d.render(w, r, "case", v, map[string]any{"Case": cv, "ID": id, "Label": statusLabel(cv.Status),
		"Scores": scorePairs(now, base)})
}
