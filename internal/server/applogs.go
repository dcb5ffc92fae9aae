package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/store"
)

// What GET /api/v1/projects/{name}/environments/{env}/logs answers: the output of an environment's instances
// (of its live release, or ?release=VERSION: 7 or v7), as JSON lines, the last ?lines= of each instance (100 by default),
// then with ?follow=1 the lines they print until the client goes away.

const (
	appLogDefaultLines = 100
	appLogMaxLines     = 10000
	appLogMaxLine      = 64 << 10 // longer lines are cut
	appLogBackscan     = 4 << 20  // how far from the end the last lines are looked for
	appLogPoll         = 200 * time.Millisecond
)

func (s *Server) handleAppLogs(w http.ResponseWriter, r *http.Request) {
	files, rel, lines, follow, err := s.openAppLogs(r)
	if err != nil {
		writeFailure(w, err)
		return
	}
	version := s.versions(r.Context()).of(rel)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	emit := func(n int, text []byte) error {
		return enc.Encode(api.AppLogLine{ReleaseID: rel, ReleaseVersion: version, Instance: n, Text: string(text)})
	}
	tails := make([]*logTail, len(files))
	for n, f := range files {
		t, last, err := openTail(f, lines)
		if err != nil {
			s.log.Warn("instance log", "release", version, "release_id", rel, "instance", n, "err", err)
			return
		}
		tails[n] = t
		for _, l := range last {
			if emit(n, l) != nil {
				return
			}
		}
	}
	rc.Flush()
	if !follow {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.streams, cancel)()
	tick := time.NewTicker(appLogPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for n, t := range tails {
			if err := t.more(func(l []byte) error { return emit(n, l) }); err != nil {
				s.log.Debug("instance log stream ended", "release", version, "release_id", rel, "instance", n, "err", err)
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// openAppLogs checks the request and opens the instance logs it names: an environment of the project, a
// release of the project (its live one by default), a number of lines in range.
func (s *Server) openAppLogs(r *http.Request) (files []io.ReadSeekCloser, release int64, lines int, follow bool, err error) {
	project, err := s.project(r)
	if err != nil {
		return nil, 0, 0, false, err
	}
	ctx, q, name := r.Context(), r.URL.Query(), r.PathValue("env")
	env, err := s.store.GetEnvironment(ctx, project, name)
	if errors.Is(err, store.ErrNotFound) {
		envs, _ := s.store.ListEnvironments(ctx, project)
		names := make([]string, 0, len(envs))
		for _, e := range envs {
			names = append(names, e.Name)
		}
		slices.Sort(names)
		return nil, 0, 0, false, fail(http.StatusNotFound, "environment %q of project %s does not exist (environments: %s)", name, project, orNone(names))
	}
	if err != nil {
		return nil, 0, 0, false, storeFailure(err, "environment "+name)
	}
	release = env.LiveReleaseID
	version := int64(0)
	if v := q.Get("release"); v != "" {
		rel, err := s.releaseByVersion(ctx, project, v)
		if err != nil {
			return nil, 0, 0, false, err
		}
		release, version = rel.ID, rel.Version
	}
	if release == 0 {
		return nil, 0, 0, false, fail(http.StatusNotFound, "nothing is live in %s/%s yet: give --release", project, name)
	}
	lines = appLogDefaultLines
	if v := q.Get("lines"); v != "" {
		if lines, err = strconv.Atoi(v); err != nil || lines < 0 || lines > appLogMaxLines {
			return nil, 0, 0, false, fail(http.StatusBadRequest, "lines %q: give a number from 0 to %d", v, appLogMaxLines)
		}
	}
	follow = q.Get("follow") == "1" || q.Get("follow") == "true"
	logs, ok := s.target.(deploy.Logs)
	if !ok || s.target == nil {
		return nil, 0, 0, false, fail(http.StatusNotImplemented, "this server's target keeps no instance logs")
	}
	files, err = logs.InstanceLogs(ctx, store.EnvKey{Project: project, Env: name}, strconv.FormatInt(release, 10))
	if errors.Is(err, deploy.ErrNoLogs) {
		return nil, 0, 0, false, fail(http.StatusNotImplemented, "%s/%s: %v", project, name, err)
	}
	if err != nil {
		return nil, 0, 0, false, fail(http.StatusInternalServerError, "%v", err)
	}
	if len(files) == 0 {
		if version == 0 {
			version = s.versions(ctx).of(release)
		}
		return nil, 0, 0, false, fail(http.StatusNotFound, "release %s has no instance logs in %s/%s: it never ran there", api.VersionText(version), project, name)
	}
	return files, release, lines, follow, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none yet"
	}
	return fmt.Sprint(names)
}

// logTail reads a file that another process appends to, a line at a time.
type logTail struct {
	f       io.ReadSeeker
	r       *bufio.Reader
	partial []byte
}

// openTail positions a tail at the file's end and returns its last n complete lines.
func openTail(f io.ReadSeeker, n int) (*logTail, [][]byte, error) {
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, nil, err
	}
	start := max(0, end-appLogBackscan)
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return nil, nil, err
	}
	t := &logTail{f: f, r: bufio.NewReaderSize(f, 64<<10)}
	var last [][]byte
	skip := start > 0 // the first line read is the end of one cut in two
	err = t.more(func(l []byte) error {
		if skip {
			skip = false
			return nil
		}
		if n > 0 {
			last = append(last, bytes.Clone(l))
			if len(last) > n {
				last = last[1:]
			}
		}
		return nil
	})
	return t, last, err
}

// more sends the complete lines appended since the last call; a line without its newline yet waits for it.
func (t *logTail) more(emit func([]byte) error) error {
	for {
		chunk, err := t.r.ReadSlice('\n')
		if len(chunk) > 0 && len(t.partial) < appLogMaxLine {
			t.partial = append(t.partial, chunk[:min(len(chunk), appLogMaxLine-len(t.partial))]...)
		}
		switch {
		case err == nil:
			line := bytes.TrimRight(t.partial, "\r\n")
			t.partial = t.partial[:0]
			if err := emit(line); err != nil {
				return err
			}
		case errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}
