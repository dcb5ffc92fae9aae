package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/store"
)

var _ deploy.Logs = (*Target)(nil)

// maxInstances bounds the instance files looked for; a release runs far fewer.
const maxInstances = 1000

// InstanceLogs opens the files the data plane writes each instance's output to. The release must be a release
// id (decimal), so the path is made of names the data plane made safe and never leaves its folder.
func (t *Target) InstanceLogs(ctx context.Context, env store.EnvKey, release string) ([]io.ReadSeekCloser, error) {
	if id, err := strconv.ParseInt(release, 10, 64); err != nil || id <= 0 || strconv.FormatInt(id, 10) != release {
		return nil, fmt.Errorf("instance logs of %s: release %q is not a release id", env, release)
	}
	var out []io.ReadSeekCloser
	for n := range maxInstances {
		f, err := os.Open(dataplane.InstanceLogPath(t.DataDir, env.String(), release, n))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			for _, f := range out {
				f.Close()
			}
			return nil, fmt.Errorf("instance logs of %s release %s: %w", env, release, err)
		}
		out = append(out, f)
	}
	return out, nil
}
