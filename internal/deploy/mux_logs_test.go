package deploy

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

// withLogs is a Target that keeps its instances' output, as the local one does.
type withLogs struct{ Target }

func (withLogs) InstanceLogs(context.Context, store.EnvKey, string) ([]io.ReadSeekCloser, error) {
	return []io.ReadSeekCloser{nopCloser{strings.NewReader("served /\n")}}, nil
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

// The server reads app logs through the Mux it is given: the Mux passes the call on to a target that keeps
// them, and says so when none does.
func TestMuxPassesInstanceLogsOn(t *testing.T) {
	key := store.EnvKey{Project: "p", Env: "e"}
	var _ Logs = (*Mux)(nil)
	files, err := (&Mux{Local: withLogs{}}).InstanceLogs(context.Background(), key, "1")
	if err != nil || len(files) != 1 {
		t.Fatalf("InstanceLogs through the Mux = %d files, %v", len(files), err)
	}
	if _, err := (&Mux{}).InstanceLogs(context.Background(), key, "1"); !errors.Is(err, ErrNoLogs) {
		t.Errorf("with no target that keeps logs: %v, want ErrNoLogs", err)
	}
}
