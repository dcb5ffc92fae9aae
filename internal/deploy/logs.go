package deploy

import (
	"context"
	"io"

	"github.com/ferry-cd/ferry/internal/store"
)

// Logs is what a Target that keeps its instances' output offers besides Target: the local target keeps each
// instance's stdout and stderr in a file. The server asserts it; a target without it has no `ferry logs --env`.
type Logs interface {
	// InstanceLogs opens the output of every instance of a release in env, instance 0 first, each from its
	// start (an instance's restarts append to it). None, and no error, when the release never ran there. The
	// caller closes them.
	InstanceLogs(ctx context.Context, env store.EnvKey, release string) ([]io.ReadSeekCloser, error)
}
