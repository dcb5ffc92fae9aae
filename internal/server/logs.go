package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/untrusted"
)

// A run's log is one file of lines "TIME<TAB>STAGE/STEP<TAB>TEXT". Lines are written as they arrive and flushed
// after every batch, so a kill -9 loses nothing a step had finished printing, and followers read the file, not
// memory: a step printing a gigabyte costs the server a read buffer, not a gigabyte.

// LogLine is one line of a run's log as the API sends it.
type LogLine = api.LogLine

// runLog appends to one run's log file and wakes its followers.
type runLog struct {
	// limit bounds the bytes of step output the log keeps; zero means no bound. Past it, one line says the log
	// was cut and the steps' further output is dropped, while the steps go on.
	limit int64
	// failed hears about the first write error (a full disk): the run cannot be logged, so it must end.
	failed func(error)

	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	notify chan struct{} // closed and replaced after each write
	done   bool
	size   int64 // bytes of step output written
	cut    bool  // the limit was reached
	err    error // the first write error; nothing is written after it
}

func openRunLog(path string) (*runLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	// Read and write: on a full disk the log gives some space back, at a line boundary it reads (giveBack).
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &runLog{f: f, w: bufio.NewWriterSize(f, 64<<10), notify: make(chan struct{})}, nil
}

// write appends a step's lines, counting them against the limit.
func (l *runLog) write(step string, lines []engine.Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done || l.err != nil || l.cut {
		return
	}
	for _, ln := range lines {
		n := int64(len(time.RFC3339Nano) + len(step) + len(ln.Text) + 3)
		if l.limit > 0 && l.size+n > l.limit {
			l.cut = true
			l.line(step, time.Now(), fmt.Sprintf("ferry: log cut at %s (ferry serve --run-log-limit); further output of this run is not kept",
				untrusted.FormatSize(l.limit)))
			break
		}
		l.size += n
		l.line(step, ln.Time, ln.Text)
	}
	l.flush()
}

// note appends ferry's own lines about the run (why a step ended, why the run did), which the limit does not
// hold back: there are a few per step, and they say what the user most needs to read.
func (l *runLog) note(step string, lines []engine.Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done || l.err != nil {
		return
	}
	for _, ln := range lines {
		l.line(step, ln.Time, ln.Text)
	}
	l.flush()
}

func (l *runLog) line(step string, t time.Time, text string) {
	var ts [64]byte
	l.w.Write(t.UTC().AppendFormat(ts[:0], time.RFC3339Nano))
	l.w.WriteByte('\t')
	l.w.WriteString(step)
	l.w.WriteByte('\t')
	l.w.WriteString(text)
	l.w.WriteByte('\n')
}

// flush writes the buffered lines and wakes the followers. The first error ends the log: it is reported to
// failed, and on a full disk the log first gives space back so that the run's end can still be recorded.
func (l *runLog) flush() {
	if err := l.w.Flush(); err != nil && l.err == nil {
		l.err = err
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			l.giveBack(err)
		}
		if l.failed != nil {
			l.failed(err)
		}
	}
	close(l.notify)
	l.notify = make(chan struct{})
}

// diskFullRelief is how much of its tail a log gives back when the disk is full: room for the database to
// record the run's end, and for a last line saying why the log stops.
const diskFullRelief = 1 << 20

// giveBack cuts up to diskFullRelief bytes off the end of the log, at a line boundary, and says so in the log.
func (l *runLog) giveBack(cause error) {
	info, err := l.f.Stat()
	if err != nil {
		return
	}
	at := max(info.Size()-diskFullRelief, 0)
	prefix := ""
	if at > 0 {
		buf := make([]byte, min(at, 64<<10))
		if n, _ := l.f.ReadAt(buf, at-int64(len(buf))); n == len(buf) {
			if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
				at = at - int64(len(buf)) + int64(i) + 1
			} else {
				prefix = "\n"
			}
		}
	}
	if l.f.Truncate(at) != nil {
		return
	}
	var ts [64]byte
	msg := prefix + string(time.Now().UTC().AppendFormat(ts[:0], time.RFC3339Nano)) + "\tferry\tferry: log cut: " + cause.Error() + "\n"
	l.f.WriteString(msg)
}

// failure returns the error that stopped the log, if any.
func (l *runLog) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
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
