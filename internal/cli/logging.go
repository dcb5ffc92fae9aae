package cli

import (
	"fmt"
	"io"
	"log/slog"
)

// logFlags are the logging settings of the long-running commands.
type logFlags struct {
	format string
	level  string
}

// newLogger builds the structured logger: text for people, JSON for log pipelines. Keys are stable across
// ferry: project, run, step, env, release, rollout.
func (f logFlags) newLogger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.level)); err != nil {
		return nil, usageError{msg: fmt.Sprintf("invalid --log-level %q: use debug, info, warn or error", f.level)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{msg: fmt.Sprintf("invalid --log-format %q: use text or json", f.format)}
}
