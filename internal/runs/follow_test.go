package runs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/engine"
)

func TestFollowLogStreamsUntilDone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "1.log")
	l, err := openRunLog(path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	done := false
	live := func() (*runLog, bool) {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return nil, true
		}
		return l, false
	}
	got := make(chan LogLine, 1000)
	errc := make(chan error, 1)
	go func() {
		errc <- followLog(context.Background(), path, "unit", true, live, func(ln LogLine) error { got <- ln; return nil }, func() {})
	}()
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for i := range 50 {
		l.write("test/unit", []engine.Line{{Time: at, Text: fmt.Sprintf("line %d\twith a tab", i)}})
		l.write("test/vet", []engine.Line{{Time: at, Text: "not for this follower"}})
	}
	// Lines written while the follower waits arrive in order, filtered by step.
	for i := range 50 {
		select {
		case ln := <-got:
			if ln.Step != "test/unit" || ln.Text != fmt.Sprintf("line %d\twith a tab", i) || !ln.Time.Equal(at) {
				t.Fatalf("line %d = %+v", i, ln)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("line %d never arrived", i)
		}
	}
	mu.Lock()
	done = true
	mu.Unlock()
	l.close()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end when the run ended")
	}
	if len(got) != 0 {
		t.Errorf("%d unexpected lines", len(got))
	}
}

func TestFollowLogJoinsPartialLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "2.log")
	// A reader may see a line half written; it must wait for the rest rather than drop or split it.
	os.WriteFile(path, []byte("2026-11-21T12:00:00Z\tbuild/x\tfirst half"), 0o600)
	calls := 0
	live := func() (*runLog, bool) {
		calls++
		if calls == 2 {
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString(" and second half\n")
			f.Close()
		}
		return nil, calls > 2
	}
	var lines []string
	err := followLog(context.Background(), path, "", true, live, func(ln LogLine) error { lines = append(lines, ln.Text); return nil }, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(lines, "|") != "first half and second half" {
		t.Errorf("lines = %q", lines)
	}
}
