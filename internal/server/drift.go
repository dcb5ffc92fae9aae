package server

import (
	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/deploy"
)

func viewDrift(d deploy.Drift) api.Drift {
	return api.Drift{Release: d.Release, What: d.What, Since: d.Since, Healed: d.Healed}
}
