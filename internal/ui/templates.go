package ui

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
)

// pageNames are the templates/*.html files that are pages; each is parsed with layout.html.
var pageNames = []string{"signin", "error", "confirm", "projects", "project", "run", "case", "environment", "envlogs", "dora", "audit"}

func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// artifactsShown bounds the artifacts of one list that the run page writes out.
const artifactsShown = 200

// byteSize says n bytes in the unit a reader takes in at a glance: 512 B, 3.4 KB, 8.1 MB, 1.2 GB.
func byteSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1e6:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

var funcs = template.FuncMap{
	"short":   shortCommit,
	"subject": firstLine,
	"ago":     ago,
	"clock":   func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	"took":    took,
	"pct":     pct,
	"up":      instancesUp,
	"tierOf":  func(t api.DoraTier) string { return orDash(string(t)) },
	"orDash":  orDash,
	"duration": func(d *api.DoraDuration) string {
		if d == nil {
			return "—"
		}
		return d.Text
	},
	"rate": func(r *float64) string {
		if r == nil {
			return "—"
		}
		return pct(*r)
	},
	"title":          func(s string) string { return strings.ToUpper(s[:min(1, len(s))]) + s[min(1, len(s)):] },
	"question":       func(action, env string) string { return fmt.Sprintf(actions[action], env) },
	"dict":           dict,
	"caseCounts":     caseCounts,
	"passWord":       passWord,
	"scorePairs":     scorePairs,
	"caseLink":       caseLink,
	"bp":             func(bp int) string { return pct(float64(bp) / 10000) },
	"firstArtifacts": func(as []api.Artifact) []api.Artifact { return as[:min(len(as), artifactsShown)] },
	"artifactsShown": func() int { return artifactsShown },
	"totalSize": func(as []api.Artifact) int64 {
		var n int64
		for _, a := range as {
			n += a.Size
		}
		return n
	},
	"bytes": byteSize,
	"minus": func(a, b int) int { return a - b },
	"versionOf": func(of func(int64) *api.Release, id int64) int64 {
		if r := of(id); r != nil {
			return r.Version
		}
		return id
	},
}

// dict makes a map of its key, value pairs, to pass several values to a template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict wants key, value pairs; got %d arguments", len(kv))
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// ago is how long before now t was, in the largest unit: "12s ago", "5m ago", "3h ago", "2d ago".
func ago(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// took is the time from start to end, or to now while end is zero: "850ms", "12.3s", "4m05s".
func took(start, end time.Time) string {
	if start.IsZero() {
		return "—"
	}
	if end.IsZero() {
		end = time.Now()
	}
	return shortDuration(end.Sub(start))
}

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// pct shows a fraction as a percentage with what precision it needs: "0%", "0.25%", "12.5%", "100%".
func pct(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "—"
	}
	s := fmt.Sprintf("%.2f", 100*f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}
