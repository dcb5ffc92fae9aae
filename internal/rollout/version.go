package rollout

import (
	"context"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

// Rollouts go by the store's release IDs; what they say to people (reasons, logs) names a release by its
// version within its project, the one number users see.

// version is release id's version within its project; 0 when the store cannot read it.
func (c *Controller) version(ctx context.Context, id int64) int64 {
	if id == 0 {
		return 0
	}
	rel, err := c.Store.GetRelease(ctx, id)
	if err != nil {
		return 0
	}
	return rel.Version
}

// name is how a reason names release id: "release v7" (or "release #12", by its ID, when the store cannot
// read it).
func (c *Controller) name(ctx context.Context, id int64) string {
	if v := c.version(ctx, id); v > 0 {
		return fmt.Sprintf("release v%d", v)
	}
	return fmt.Sprintf("release #%d", id)
}

// nameOf is name for a release already read.
func nameOf(rel *store.Release) string { return fmt.Sprintf("release v%d", rel.Version) }
