package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-cd/ferry/internal/api"
)

// envCard is one environment as the project pages show it.
type envCard struct {
	Project string
	api.EnvStatus
	Live, Previous *api.Release
	// Health is a word for the live release's instances: healthy, unhealthy, starting or unknown (data plane
	// not running); HealthText says more.
	Health, HealthText string
	// Active is set while a rollout is in flight.
	Active bool
}

// releases maps a project's release IDs to releases, for showing versions.
type releases map[int64]*api.Release

func (rs releases) get(id int64) *api.Release {
	if id == 0 {
		return nil
	}
	return rs[id]
}

func (d *Dashboard) releases(ctx context.Context, c *api.Client, project string) (releases, []*api.Release, error) {
	list, err := c.Releases(ctx, project)
	if err != nil {
		return nil, nil, err
	}
	m := releases{}
	for _, r := range list {
		m[r.ID] = r
	}
	return m, list, nil
}

func envCards(project string, st *api.ProjectStatus, rels releases) []envCard {
	var cards []envCard
	for _, e := range st.Environments {
		c := envCard{Project: project, EnvStatus: e, Live: rels.get(e.LiveReleaseID), Previous: rels.get(e.PreviousReleaseID)}
		c.Active = e.Rollout != nil && !e.Rollout.State.Done()
		c.Health, c.HealthText = health(e)
		cards = append(cards, c)
	}
	return cards
}

// health describes the live release's instances as the data plane reports them.
func health(e api.EnvStatus) (string, string) {
	if e.LiveReleaseID == 0 {
		return "none", "nothing deployed yet"
	}
	if e.Running == nil {
		return "unknown", "data plane not running"
	}
	live := strconv.FormatInt(e.LiveReleaseID, 10)
	for _, r := range e.Running {
		if r.ID != live {
			continue
		}
		up := 0
		for _, in := range r.Instances {
			if in.State == api.InstanceHealthy {
				up++
			}
		}
		text := fmt.Sprintf("%d of %d instances healthy", up, len(r.Instances))
		if r.Last10s != nil && r.Last10s.Requests > 0 {
			text += fmt.Sprintf(", %.1f%% errors over 10s", 100*r.Last10s.ErrorRate())
		}
		switch {
		case r.Healthy:
			return "healthy", text
		case up == 0:
			return "unhealthy", text
		default:
			return "degraded", text
		}
	}
	return "unknown", "the live release is not running"
}

func (d *Dashboard) projectsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx, c := r.Context(), d.client(v)
	projects, err := c.Projects(ctx)
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	type card struct {
		Project api.ProjectView
		Latest  *api.Run
		Envs    []envCard
	}
	var cards []card
	for _, p := range projects {
		runs, err := c.Runs(ctx, p.Name, 1)
		if err != nil {
			d.fail(w, r, v, err)
			return
		}
		st, err := c.Status(ctx, p.Name)
		if err != nil {
			d.fail(w, r, v, err)
			return
		}
		rels, _, err := d.releases(ctx, c, p.Name)
		if err != nil {
			d.fail(w, r, v, err)
			return
		}
		k := card{Project: p, Envs: envCards(p.Name, st, rels)}
		if len(runs) > 0 {
			k.Latest = runs[0]
		}
		cards = append(cards, k)
	}
	d.render(w, r, "projects", v, map[string]any{"Projects": cards})
}

func (d *Dashboard) projectPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx, c, name := r.Context(), d.client(v), r.PathValue("name")
	var (
		runs     []*api.Run
		st       *api.ProjectStatus
		rollouts []*api.Rollout
	)
	p, err := c.Project(ctx, name)
	if err == nil {
		runs, err = c.Runs(ctx, name, 30)
	}
	if err == nil {
		st, err = c.Status(ctx, name)
	}
	if err == nil {
		rollouts, err = c.Rollouts(ctx, name, "", 20)
	}
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	rels, list, err := d.releases(ctx, c, name)
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	d.render(w, r, "project", v, map[string]any{
		"Project":   p,
		"Envs":      envCards(name, st, rels),
		"Runs":      runs,
		"RunChart":  runDurationChart(runs),
		"Releases":  list[:min(len(list), 15)],
		"Rollouts":  rollouts,
		"ReleaseOf": rels.get,
	})
}

// stage is a column of the run graph.
type stage struct {
	Name  string
	Steps []*api.Step
}

func (d *Dashboard) runPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx, c := r.Context(), d.client(v)
	// The path's id goes to the API as it is, which answers a bad one with 400.
	var run api.RunView
	if err := c.Get(ctx, "/api/v1/runs/"+url.PathEscape(r.PathValue("id")), &run); err != nil {
		d.fail(w, r, v, err)
		return
	}
	var stages []stage
	for _, s := range run.Steps {
		if len(stages) == 0 || stages[len(stages)-1].Name != s.Stage {
			stages = append(stages, stage{Name: s.Stage})
		}
		stages[len(stages)-1].Steps = append(stages[len(stages)-1].Steps, s)
	}
	release := &api.ReleaseView{}
	if run.ReleaseID != 0 {
		var err error
		if release, err = c.Release(ctx, run.ReleaseID); err != nil {
			d.fail(w, r, v, err)
			return
		}
	}
	var cases api.RunCases
	if err := c.Get(ctx, "/api/v1/runs/"+url.PathEscape(r.PathValue("id"))+"/cases", &cases); err != nil {
		d.fail(w, r, v, err)
		return
	}
	d.render(w, r, "run", v, map[string]any{"Run": run, "Stages": stages, "Release": release.Release, "Files": release.Files,
		"Live": !run.State.Done(), "Cases": caseTables(&cases)})
}

// runEvents streams a run's log as server-sent events, one "line" event per log line, then an "end" event.
// Event IDs count lines, so a browser that reconnects with Last-Event-ID gets only the lines it missed.
func (d *Dashboard) runEvents(w http.ResponseWriter, r *http.Request, v *viewer) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "invalid run id", http.StatusBadRequest)
		return
	}
	skip, _ := strconv.Atoi(r.Header.Get("Last-Event-ID"))
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	rc.Flush()
	err = d.followLog(r.Context(), v, id, func(n int, line []byte) error {
		if n <= skip {
			return nil
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: line\ndata: %s\n\n", n, line); err != nil {
			return err
		}
		return rc.Flush()
	})
	var refused *api.Error
	if err != nil {
		fmt.Fprintf(w, "event: failed\ndata: %s\n\n", jsonString(errorText(err)))
		errors.As(err, &refused)
	}
	// The stream also ends when the server shuts down: only a finished run (or a refusal) ends the log.
	// Otherwise the browser reconnects, with Last-Event-ID, and gets the rest.
	if refused != nil && refused.Status < 500 {
		fmt.Fprint(w, "event: end\ndata: {}\n\n")
	} else if run, err := d.client(v).Run(context.WithoutCancel(r.Context()), id); err == nil && run.State.Done() {
		fmt.Fprint(w, "event: end\ndata: {}\n\n")
	}
	rc.Flush()
}

// followLog hands each line of a run's log to fn, numbered from 1, as it is written, until the run ends, fn
// fails or ctx is done.
func (d *Dashboard) followLog(ctx context.Context, v *viewer, id int64, fn func(n int, line []byte) error) error {
	body, err := d.client(v).Logs(ctx, id, "", true)
	if err != nil {
		return err
	}
	defer body.Close() // stops the API's handler if fn stopped early
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20) // a log line is at most 64 KiB of text; JSON may escape it
	n := 0
	for sc.Scan() {
		n++
		if err := fn(n, sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// actions are what a human may do to an environment, with the question the dashboard asks first.
var actions = map[string]string{
	"promote":  "Promote the rollout in %s to its next step now, without waiting for the analysis?",
	"pause":    "Pause the rollout in %s at its current step? Analysis goes on, and can still roll it back.",
	"resume":   "Resume the paused rollout in %s?",
	"abort":    "Abort the rollout in %s and send all traffic back to the stable release?",
	"rollback": "Roll %s back to the previous release?",
}

func (d *Dashboard) environmentPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx, c := r.Context(), d.client(v)
	name, env := r.PathValue("name"), r.PathValue("env")
	st, err := c.Status(ctx, name)
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	rels, _, err := d.releases(ctx, c, name)
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	var card *envCard
	for _, e := range envCards(name, st, rels) {
		if e.Name == env {
			card = &e
		}
	}
	if card == nil {
		d.fail(w, r, v, &api.Error{Status: http.StatusNotFound, Message: fmt.Sprintf("project %s has no environment %s yet", name, env)})
		return
	}
	history, err := c.Rollouts(ctx, name, env, 30)
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	fl, err := c.Flags(ctx, name, env)
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	data := map[string]any{"Env": card, "History": history, "ReleaseOf": rels.get, "Done": r.URL.Query().Get("done"), "Flags": fl.Flags}
	if card.LiveReleaseID != 0 {
		data["Logs"], data["LogsWhy"] = appLogTail(ctx, c, api.EnvKey{Project: name, Env: env}, 0, envPageLogLines)
	}
	if card.Rollout != nil {
		ro, err := c.Rollout(ctx, card.Rollout.ID)
		if err != nil {
			d.fail(w, r, v, err)
			return
		}
		var ev api.Evaluation
		if len(ro.Analysis) > 0 {
			json.Unmarshal(ro.Analysis, &ev)
		}
		data["Rollout"] = *ro
		data["Analysis"] = ev
		data["Charts"] = rolloutCharts(ro, rels.get(ro.ReleaseID))
	}
	d.render(w, r, "environment", v, data)
}

func (d *Dashboard) environmentAction(w http.ResponseWriter, r *http.Request, v *viewer) {
	name, env, action := r.PathValue("name"), r.PathValue("env"), r.PathValue("action")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	question, ok := actions[action]
	if !ok {
		d.fail(w, r, v, &api.Error{Status: http.StatusNotFound, Message: "no such action: " + action})
		return
	}
	if !d.checkCSRF(r, v) {
		d.fail(w, r, v, &api.Error{Status: http.StatusForbidden, Message: "the form is stale or came from elsewhere: reload the page and try again"})
		return
	}
	back := "/ui/projects/" + url.PathEscape(name) + "/environments/" + url.PathEscape(env)
	if r.PostFormValue("confirm") != "yes" {
		// Without the page's script, the question is a page of its own.
		d.render(w, r, "confirm", v, map[string]any{"Action": action, "Question": fmt.Sprintf(question, api.EnvKey{Project: name, Env: env}),
			"Post": back + "/" + action, "Back": back})
		return
	}
	body := api.ActionRequest{}
	if to := r.PostFormValue("to"); to != "" && action == "rollback" {
		n, err := api.ParseVersion(to)
		if err != nil {
			d.fail(w, r, v, &api.Error{Status: http.StatusBadRequest, Message: err.Error()})
			return
		}
		body.To = n
	}
	if _, err := d.client(v).Act(r.Context(), name, env, action, body); err != nil {
		d.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, back+"?done="+action, http.StatusSeeOther)
}

// flagAction overrides a flag of an environment (op "override", with the form's variant) or clears its
// override (op "clear"), after the same checks and confirmation as the environment's actions.
func (d *Dashboard) flagAction(w http.ResponseWriter, r *http.Request, v *viewer) {
	name, env, flag, op := r.PathValue("name"), r.PathValue("env"), r.PathValue("flag"), r.PathValue("op")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	variant := r.PostFormValue("variant")
	var question string
	switch op {
	case "override":
		if variant == "" {
			d.fail(w, r, v, &api.Error{Status: http.StatusBadRequest, Message: "choose the variant everyone gets"})
			return
		}
		question = fmt.Sprintf("Force flag %s to %s for everyone in %s, whatever its rules say?", flag, variant, api.EnvKey{Project: name, Env: env})
	case "clear":
		question = fmt.Sprintf("Clear the override of flag %s in %s? Its rules from Git decide again.", flag, api.EnvKey{Project: name, Env: env})
	default:
		d.fail(w, r, v, &api.Error{Status: http.StatusNotFound, Message: "no such flag action: " + op})
		return
	}
	if !d.checkCSRF(r, v) {
		d.fail(w, r, v, &api.Error{Status: http.StatusForbidden, Message: "the form is stale or came from elsewhere: reload the page and try again"})
		return
	}
	back := "/ui/projects/" + url.PathEscape(name) + "/environments/" + url.PathEscape(env)
	post := back + "/flags/" + url.PathEscape(flag) + "/" + op
	if r.PostFormValue("confirm") != "yes" {
		d.render(w, r, "confirm", v, map[string]any{"Action": op, "Question": question, "Post": post, "Back": back,
			"Fields": map[string]string{"variant": variant}})
		return
	}
	var err error
	if op == "override" {
		_, err = d.client(v).SetOverride(r.Context(), name, env, flag, variant)
	} else {
		err = d.client(v).ClearOverride(r.Context(), name, env, flag)
	}
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, back+"?done="+op, http.StatusSeeOther)
}

// doraWeeks is how many weeks the DORA page charts.
const doraWeeks = 8

func (d *Dashboard) doraPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx, c, name := r.Context(), d.client(v), r.PathValue("name")
	window := r.URL.Query().Get("window")
	if window == "" {
		window = "30d"
	}
	view, err := c.Dora(ctx, name, window, doraWeeks)
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	type envDora struct {
		Env    string
		Report api.DoraReport
		Charts doraCharts
	}
	var envs []envDora
	for _, e := range view.Environments {
		envs = append(envs, envDora{Env: e.Env, Report: e.Report, Charts: weeklyDoraCharts(e.Weekly)})
	}
	d.render(w, r, "dora", v, map[string]any{"Project": name, "Window": window, "Envs": envs,
		"Windows": []string{"7d", "30d", "90d"}})
}

func (d *Dashboard) auditPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	project := r.URL.Query().Get("project")
	entries, err := d.client(v).Audit(r.Context(), project, 200)
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	d.render(w, r, "audit", v, map[string]any{"Project": project, "Entries": entries})
}

// instancesUp counts a running release's healthy instances, for the templates.
func instancesUp(r api.ReleaseState) int {
	n := 0
	for _, in := range r.Instances {
		if in.State == api.InstanceHealthy {
			n++
		}
	}
	return n
}

// shortCommit is the first 10 characters of a commit id.
func shortCommit(c string) string {
	if len(c) > 10 {
		return c[:10]
	}
	return c
}

// firstLine is a commit message's subject.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
