package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ferry-cd/ferry/internal/api"
)

// appLogs prints what an environment's instances printed: `ferry logs --env PROJECT/ENV`.
func (a *app) appLogs(ctx context.Context, env string, release int64, lines int, follow, strip bool) error {
	project, name, ok := strings.Cut(env, "/")
	if !ok || project == "" || name == "" || strings.Contains(name, "/") {
		return usageError{msg: fmt.Sprintf("--env %q: give PROJECT/ENV", env)}
	}
	if release < 0 || lines < 0 || lines > 10000 {
		return usageError{msg: "--release must be a release number, --lines from 0 to 10000"}
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	body, err := cl.AppLogs(ctx, api.EnvKey{Project: project, Env: name}, release, lines, follow)
	if err != nil {
		return err
	}
	defer body.Close()
	return a.printLines(ctx, body, func(bw *bufio.Writer, line []byte) error {
		var ln api.AppLogLine
		if err := json.Unmarshal(line, &ln); err != nil {
			return fmt.Errorf("decode log line: %w", err)
		}
		if strip {
			ln.Text = stripEscapes(ln.Text)
		}
		fmt.Fprintf(bw, "[%d] %s\n", ln.Instance, ln.Text)
		return nil
	})
}
