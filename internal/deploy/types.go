package deploy

import (
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// Environment is an environment as a Target is told about it.
type Environment struct {
	Key store.EnvKey
	// Spec is the environment as the newest release in it declares it: where it listens (local), its cluster,
	// namespace and route (Kubernetes). A target reads the environment-level settings from it.
	Spec *pipeline.Environment
}

// Release is one release to run in an environment.
type Release struct {
	// ID is ferry's release id (store.Release.ID, in decimal): the name Split, Stop and Status use.
	ID string
	// Version is the release's version within its project (7 for v7), the number users see.
	Version int64
	// Bundle is the digest of the release's bundle in the artifact store.
	Bundle string
	// Commit is the commit the release was built from, for the instances' FERRY_COMMIT.
	Commit string
	// Secrets are the values of the project secrets the service names (Spec.Service.Secrets), to give every
	// instance as variables. A target keeps them out of everything it writes down (files, logs, the objects
	// it shows) where it can: the local target holds them only in the data plane's memory.
	Secrets map[string]string `json:"-"`
	// Spec is the environment as this release's pipeline declares it: the service to run (command,
	// instances, health, env) for the local target, the manifests and workload for Kubernetes.
	Spec *pipeline.Environment
	// Manifests is the release's rendered manifests (a YAML stream), stored with the release so that what is
	// applied for it is the same bytes every time; Kubernetes only.
	Manifests []byte
	// Images are the images a step of the release's run built, pinned by digest
	// ("registry.example.com/shop@sha256:..."); Kubernetes only.
	Images []string
}

// Split is where an environment's traffic goes. The zero Split sends traffic nowhere new (the local target
// keeps its last route), which is what an environment being taken down asks for.
type Split struct {
	// Stable takes all traffic but the canary's share; "" is no release yet.
	Stable string `json:"stable"`
	// Canary, when set, takes CanaryWeight percent of clients (0..100). At 0 it gets only traffic that asks
	// for it (a preview, a synthetic check).
	Canary       string `json:"canary,omitempty"`
	CanaryWeight int    `json:"canary_weight,omitempty"`
}

// Status is every environment a target runs.
type Status struct {
	Environments []EnvStatus
}

// Env returns the status of one environment, or nil.
func (s *Status) Env(key store.EnvKey) *EnvStatus {
	if s == nil {
		return nil
	}
	for i := range s.Environments {
		if s.Environments[i].Key == key {
			return &s.Environments[i]
		}
	}
	return nil
}

// EnvStatus is one environment as it runs.
type EnvStatus struct {
	Key store.EnvKey
	// Address is where the environment takes traffic, in the target's terms (the local listen address, a
	// route's name); two environments never share one.
	Address  string
	Split    Split
	Releases []ReleaseStatus
	// Drift lists what changed in the environment without the target being asked; see Target.
	Drift []Drift
	// Certificates are the ACME certificates of its hosts (tls: {acme: ...}), by host.
	Certificates []Certificate
	// Traffic is the operator's traffic mode (traffic.go); Mode is "" where the target has none.
	Traffic Traffic
}

// Certificate is how the certificate of one host obtained from an ACME CA stands.
type Certificate struct {
	Host string
	// Issuer, NotBefore and NotAfter are those of the certificate served; empty until one is obtained.
	Issuer              string
	NotBefore, NotAfter time.Time
	// LastError is why the last attempt to obtain it failed, at LastErrorAt; "" once one succeeds. The
	// certificate served so far is kept meanwhile.
	LastError   string
	LastErrorAt time.Time
	// NextAttempt is when it is next obtained: its renewal, or the retry after a failure.
	NextAttempt time.Time
}

// Release returns the status of one release of the environment, or nil.
func (e *EnvStatus) Release(id string) *ReleaseStatus {
	if e == nil {
		return nil
	}
	for i := range e.Releases {
		if e.Releases[i].ID == id {
			return &e.Releases[i]
		}
	}
	return nil
}

// ReleaseStatus is one release as it runs in an environment.
type ReleaseStatus struct {
	ID string
	// Healthy is set when every instance is ready for traffic. Reason says why not otherwise.
	Healthy bool
	Reason  string
	// Failed is set when the target knows the release will never become healthy as it is (an image that
	// cannot be pulled, a quota exceeded); Reason says why. A crash loop is told by Restarts instead.
	Failed bool
	// Restarts counts the restarts of all its instances since it was prepared.
	Restarts  int
	Instances []Instance
	// Last10s is what it served over the last ten seconds; nil when the target does not measure traffic or
	// has not routed any to it.
	Last10s *Figures
}

// InstanceState is what one instance of a release is doing.
type InstanceState string

const (
	InstanceStarting  InstanceState = "starting"  // started, not ready yet
	InstanceHealthy   InstanceState = "healthy"   // ready for traffic
	InstanceUnhealthy InstanceState = "unhealthy" // was ready, no longer is
	InstanceExited    InstanceState = "exited"    // its process ended; waiting to restart
	InstanceStopped   InstanceState = "stopped"   // stopped on purpose
)

// Instance is one running copy of a release: a process (local) or a pod (Kubernetes).
type Instance struct {
	// Name is the instance's name where the target gives one (a pod's); "" for a local process.
	Name  string
	State InstanceState
	// PID and Port are the local process's; zero elsewhere.
	PID, Port int
	Restarts  int
	// LastExit says how it last ended on its own ("exit status 3", "killed by killed", a container's reason).
	LastExit string
	// Since is when it entered State.
	Since time.Time
	// LastProbe is what its last readiness check saw, in a few words ("GET /healthz answered 404", "GET
	// /healthz: connection refused"); "" where the target does not know.
	LastProbe string
	// LastOutput is the last lines it printed (a handful, each cut short); nil where the target does not know.
	LastOutput []string
}

// Drift is one change in what runs that nobody asked the target for.
type Drift struct {
	// Release is the release it concerns; "" for the environment as a whole.
	Release string
	// What says what changed, in a sentence ("instance 1 exited on its own: killed by killed").
	What string
	// Since is when the target saw it.
	Since time.Time
	// Healed is set once the target put things back by itself (the instance restarted and is healthy).
	Healed bool
}

// Figures are what a target measured of one release's traffic over a span.
type Figures struct {
	Requests int64
	Errors   int64
	// Latency quantiles in seconds; zero without requests.
	P50, P90, P95, P99 float64
	Span               time.Duration
}
