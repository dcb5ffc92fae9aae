package api

import "time"

// Drift is one change in what runs that nobody asked ferry for: an image edited with kubectl, a Deployment
// scaled by hand, a Service deleted (Kubernetes), an instance killed behind ferry's back (local).
type Drift struct {
	// Release is the release it concerns, in decimal; "" for the environment as a whole (its route, its
	// Service).
	Release string `json:"release,omitempty"`
	// ReleaseVersion is that release by its version within the project (v7), 0 for the environment.
	ReleaseVersion int64 `json:"release_version,omitempty"`
	// What says what changed, in a sentence ("deployment shop-r3 was changed behind ferry's back by
	// kubectl-edit (spec.template)").
	What string `json:"what"`
	// Since is when ferry saw it.
	Since time.Time `json:"since"`
	// Healed is set once it was put back (re-applied by ferry, or the instance restarted and healthy).
	// A Kubernetes environment with `heal: false` keeps its drift open until its next release is applied.
	Healed bool `json:"healed"`
}
