package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"

	"github.com/ferry-cd/ferry/internal/api"
)

// The environment page shows the last lines its live release's instances printed; its logs page shows more
// and refreshes every two seconds, which is how it follows them.

const (
	envPageLogLines  = 20
	logsPageLogLines = 500
)

// escapeSeqs are terminal escape sequences an application prints (colors mostly): noise on a page.
var escapeSeqs = regexp.MustCompile(`\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-_])`)

// appLogTail reads the last lines of each instance of a release (the live one when 0). A release without logs
// (never ran here, a target that keeps none) is no lines and a sentence saying why.
func appLogTail(ctx context.Context, c *api.Client, key api.EnvKey, release int64, lines int) ([]api.AppLogLine, string) {
	body, err := c.AppLogs(ctx, key, release, lines, false)
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return nil, ae.Message
		}
		return nil, err.Error()
	}
	defer body.Close()
	var out []api.AppLogLine
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var ln api.AppLogLine
		if json.Unmarshal(sc.Bytes(), &ln) == nil {
			ln.Text = escapeSeqs.ReplaceAllString(ln.Text, "")
			out = append(out, ln)
		}
	}
	return out, ""
}

func (d *Dashboard) envLogsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	key := api.EnvKey{Project: r.PathValue("name"), Env: r.PathValue("env")}
	release, _ := api.ParseVersion(r.URL.Query().Get("release")) // the version users see: 7 or v7
	lines, why := appLogTail(r.Context(), d.client(v), key, release, logsPageLogLines)
	d.render(w, r, "envlogs", v, map[string]any{"Key": key, "Release": release, "Lines": lines, "Why": why})
}
