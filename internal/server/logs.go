package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/engine"
)

// A run's log is one file of lines "TIME<TAB>STAGE/STEP<TAB>TEXT". Lines are written as they arrive and flushed
// after every batch, so a kill -9 loses nothing a step had finished printing, and followers read the file, not
// memory: a step printing a gigabyte costs the server a read buffer, not a gigabyte.

// LogLine is one line of a run's log as the API sends it.
type LogLine struct {
	Time time.Time `json:"time"`
	Step string    `json:"step"`
	Text string    `json:"line"`
}

// runLog appends to one run's log file and wakes its followers.
type runLog struct {
	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	notify chan struct{} // closed and replaced after each write
	done   bool
}

func openRunLog(path string) (*runLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &runLog{f: f, w: bufio.NewWriterSize(f, 64<<10), notify: make(chan struct{})}, nil
}

func (l *runLog) write(step string, lines []engine.Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	var ts [64]byte
	for _, ln := range lines {
		l.w.Write(ln.Time.UTC().AppendFormat(ts[:0], time.RFC3339Nano))
		l.w.WriteByte('\t')
		l.w.WriteString(step)
		l.w.WriteByte('\t')
		l.w.WriteString(ln.Text)
		l.w.WriteByte('\n')
	}
	l.w.Flush()
	close(l.notify)
	l.notify = make(chan struct{})
}

// wait returns a channel closed at the next write, and whether the log is finished.
func (l *runLog) wait() (<-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.notify, l.done
}

func (l *runLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	l.done = true
	l.w.Flush()
	l.f.Close()
	close(l.notify)
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
