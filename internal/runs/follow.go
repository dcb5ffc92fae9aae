package runs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// LogLine is one line of a run's log: when it was printed, by which step ("stage/step", or "ferry" for ferry's
// own lines about the run), and its text.
type LogLine struct {
	Time time.Time
	Step string
	Text string
}

// FollowLog sends run's log lines for step ("" for all; "stage/step" or a bare step name) to emit, then, when
// follow is set, the lines that arrive until the run ends or ctx is done. flush is called whenever the reader
// has caught up with the log. The run's existence is the caller's to check: a run without a log has no lines.
func (m *Manager) FollowLog(ctx context.Context, run int64, step string, follow bool, emit func(LogLine) error, flush func()) error {
	live := func() (*runLog, bool) {
		m.mu.Lock()
		a, ok := m.active[run]
		m.mu.Unlock()
		if ok {
			return a.log, false
		}
		r, err := m.store.GetRun(context.WithoutCancel(ctx), run)
		return nil, err != nil || r.State.Done()
	}
	return followLog(ctx, m.LogPath(run), step, follow, live, emit, flush)
}

func parseLogLine(s string) (LogLine, bool) {
	ts, rest, ok := strings.Cut(s, "\t")
	if !ok {
		return LogLine{}, false
	}
	step, text, ok := strings.Cut(rest, "\t")
	if !ok {
		return LogLine{}, false
	}
	t, _ := time.Parse(time.RFC3339Nano, ts)
	return LogLine{Time: t, Step: step, Text: text}, true
}

// followLog sends the log's lines for step ("" for all; "stage/step" or a bare step name) to emit, then, when
// follow is set, the lines that arrive until the run ends or ctx is done. live reports the run's log while it
// runs, and whether the run has finished; flush is called whenever the reader has caught up with the file.
func followLog(ctx context.Context, path string, step string, follow bool, live func() (*runLog, bool), emit func(LogLine) error, flush func()) error {
	match := func(s string) bool {
		return step == "" || s == step || strings.HasSuffix(s, "/"+step)
	}
	var r *bufio.Reader
	var partial strings.Builder
	for {
		// Take the wake-up channel before reading, so a write between the read and the wait is not missed.
		var notify <-chan struct{}
		l, finished := live()
		if l != nil {
			notify, finished = l.wait()
		}
		if r == nil {
			f, err := os.Open(path)
			if err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("open log: %w", err)
			}
			if err == nil {
				defer f.Close()
				r = bufio.NewReaderSize(f, 64<<10)
			}
		}
		for r != nil {
			s, err := r.ReadString('\n')
			if err == io.EOF {
				partial.WriteString(s)
				break
			}
			if err != nil {
				return fmt.Errorf("read log: %w", err)
			}
			if partial.Len() > 0 {
				partial.WriteString(s)
				s = partial.String()
				partial.Reset()
			}
			if ln, ok := parseLogLine(strings.TrimSuffix(s, "\n")); ok && match(ln.Step) {
				if err := emit(ln); err != nil {
					return err
				}
			}
		}
		flush()
		if !follow || finished {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-notify:
		case <-time.After(500 * time.Millisecond):
		}
	}
}
