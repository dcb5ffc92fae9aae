// Package pipeline owns the .ferry.yaml schema: parsing with FILE:LINE:COL errors and validation.
//
// Parse checks every key, type and name and returns all the problems at once as an ErrorList, each saying
// what is wrong and how to fix it, so that a user fixes a broken file in one round.
//
// It is pure: it reads bytes it is given and imports no I/O package (no os, no net, no exec; net/netip and
// net/url only parse addresses, text/template only parses and fills in Prometheus query templates).
package pipeline

import (
	"strconv"
	"time"

	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/gate"
)

// FileName is the pipeline file at the repository root.
const FileName = ".ferry.yaml"

// Pipeline is a parsed, validated .ferry.yaml.
type Pipeline struct {
	Version int
	// Env is given to every step; a step's own Env overrides it.
	Env    map[string]string
	Stages []Stage
	// Environments are the places a release runs, in file order. Their "after" links form a forest: each
	// names an environment that exists, and there is no cycle.
	Environments []Environment
	// Flags are the feature flags of the file's "flags:" section; nil without one. A repository may keep them
	// in .ferry/flags.yaml instead (FlagsFile), not in both.
	Flags *flags.Set
}

// FlagsFile is where a repository keeps its feature flags when they are not in the pipeline file.
const FlagsFile = ".ferry/flags.yaml"

// Stage is a quality gate made of steps that run in parallel.
type Stage struct {
	Name  string
	Steps []Step
	Pos   Pos
}

// Step is a shell script run with `sh -e` in the run's checkout.
type Step struct {
	Name string
	Run  string
	Env  map[string]string
	// Timeout is zero when the file sets none; the engine applies its default.
	Timeout time.Duration
	// Retries is how many times a failed step is run again (0: run once).
	Retries   int
	Artifacts []string
	Gates     []gate.Gate
	// Cases, when set, says where the step's per-case evaluation results are and the gates over them.
	Cases *Cases
	// Secrets names the project secrets given to the step as environment variables.
	Secrets []string
	// Images are the image repositories the step builds and pushes ("registry.example.com/shop"), without
	// tag or digest; each is declared by one step of the pipeline. The step writes the reference it pushed,
	// pinned by digest, to the file at $FERRY_IMAGES (see ReadImages), and the release records it.
	Images []string
	Pos    Pos
}

// Environment is a place a release runs, and how a new release reaches it.
type Environment struct {
	Name string
	// After names the environment whose successful rollout promotes a release here. "" makes this a root,
	// deployed when a run passes; several roots are allowed.
	After string
	// Production marks the environments that count for the DORA metrics.
	Production bool
	// Target is how the release runs: TargetLocal, the default, or TargetKubernetes.
	Target string
	// Service is the app the local target runs; it is zero on the kubernetes target, where the manifests say
	// what runs.
	Service Service
	// Kubernetes is where in a cluster the release runs; it is set when Target is TargetKubernetes, and nil
	// otherwise.
	Kubernetes *KubernetesTarget
	Strategy   Strategy
	// Analysis holds its defaults when the file sets none.
	Analysis Analysis
	// Bake is how long, after 100 % of traffic reached the new release, the previous one is kept warm while
	// analysis goes on; 0 means no bake.
	Bake time.Duration
	Pos  Pos
}

// Service is the app an environment runs from the unpacked release.
type Service struct {
	// Run is the shell command that starts one instance; ferry sets PORT for each.
	Run string
	// Listen is the stable host:port ferry's proxy serves for the environment, as written. The host is an
	// IP literal or "localhost"; no two environments take the same socket.
	Listen string
	// Instances is how many copies run, 1 to 64.
	Instances int
	// Env is given to every instance. Its names follow the rules of a step's env, and PORT is ferry's.
	Env map[string]string
	// Secrets names the project secrets (`ferry secret set`) given to every instance as variables of the same
	// name. Their values are never written into the release, the data plane's saved state or a log.
	Secrets []string
	Health  Health
	// Hosts are the host names (lower case, "*." for one wildcard level) the environment answers on Listen,
	// which other environments may share by naming other hosts; none takes the whole address.
	Hosts []string
	// TLS terminates TLS on Listen (HTTPS, HTTP/2); nil serves plain HTTP.
	TLS *TLS
	// H2C serves HTTP/2 without TLS (prior knowledge) beside HTTP/1.1 on a plain Listen.
	H2C bool
	// At is where the file claims Listen and Hosts, for the checks against other pipelines.
	At Claim
	// Proxy are the limits and timeouts of ferry's proxy in front of the service.
	Proxy ProxySettings
}

// Health is the HTTP probe by which ferry tells that an instance is ready.
type Health struct {
	// Path starts with "/"; "/healthz" by default.
	Path string
	// Interval is the time between probes, 1s by default.
	Interval time.Duration
	// Timeout bounds one probe, 2s by default.
	Timeout time.Duration
}

// StrategyKind is how traffic moves from the live release to a new one.
type StrategyKind int

const (
	// Direct replaces the instances and sends all traffic to the new release at once. It is the default.
	Direct StrategyKind = iota
	// BlueGreen starts the new release beside the live one and switches all traffic once it is healthy.
	BlueGreen
	// Canary moves traffic to the new release in the weighted steps of Strategy.Steps.
	Canary
)

var strategyNames = []string{"direct", "blue_green", "canary"}

// String returns the name used in the file: direct, blue_green or canary.
func (k StrategyKind) String() string { return enumName(strategyNames, int(k)) }

// Strategy is a StrategyKind and, for Canary only, its steps.
type Strategy struct {
	Kind StrategyKind
	// Steps is at least one step for Canary and nil otherwise. Weights increase strictly.
	Steps []CanaryStep
}

// CanaryStep sends Weight percent of the traffic to the new release, then waits Pause (0: no wait) while
// analysis runs before the next step. After the last step the new release takes all the traffic.
type CanaryStep struct {
	Weight int
	Pause  time.Duration
}

// OnInconclusive is what a rollout does when analysis cannot decide, because too few requests reached the
// new release (see Analysis.MinRequests) or a metric has no value.
type OnInconclusive int

const (
	// InconclusiveWait holds the rollout where it is and evaluates again at the next interval. It is the
	// default.
	InconclusiveWait OnInconclusive = iota
	// InconclusivePromote counts an inconclusive evaluation as a pass.
	InconclusivePromote
	// InconclusiveRollback counts an inconclusive evaluation as a failure.
	InconclusiveRollback
)

var inconclusiveNames = []string{"wait", "promote", "rollback"}

// String returns the name used in the file: wait, promote or rollback.
func (o OnInconclusive) String() string { return enumName(inconclusiveNames, int(o)) }

func enumName(names []string, i int) string {
	if i < 0 || i >= len(names) {
		return "unknown(" + strconv.Itoa(i) + ")"
	}
	return names[i]
}

// Analysis is how a rollout judges the new release while it takes traffic.
type Analysis struct {
	// Interval is the time between evaluations of the checks: 5s by default, at least 100ms.
	Interval time.Duration
	// FailureLimit is how many failed evaluations are tolerated: the next one rolls back. The default 0
	// rolls back at the first.
	FailureLimit int
	// MinRequests is how many requests the new release must have served in an interval before the built-in
	// metrics are judged; with fewer the evaluation is inconclusive. 20 by default.
	MinRequests    int
	OnInconclusive OnInconclusive
	// Checks may be empty: then only the instances' health is watched.
	Checks []Check
}

// Check is one test of the new release during analysis. Exactly one of Metric, HTTP and Prometheus is set.
type Check struct {
	// Metric is a metric ferry's proxy measures for each release: error_rate, latency_p50, latency_p90,
	// latency_p95, latency_p99 or request_rate.
	Metric string
	// Min, Max and MaxOverStable bound a Metric, in its base unit: error_rate is a fraction of requests
	// (the file's "1%" is 0.01), latencies are seconds (the file's "300ms" is 0.3) and request_rate is
	// requests per second. At least one is set; nil means no bound.
	Min, Max *float64
	// MaxOverStable bounds how much worse the new release may be than the stable one over the same window
	// (canary minus stable). Only error_rate and latencies have it.
	MaxOverStable *float64
	HTTP          *HTTPCheck
	Prometheus    *PrometheusCheck
	Pos           Pos
}

// HTTPCheck is a synthetic transaction sent to the new release: it passes when the status is ExpectStatus
// and, if ExpectBody is set, the response body contains it.
type HTTPCheck struct {
	// URL is where a kubernetes environment's check goes: the scheme and host (and port) users reach through
	// the Gateway of the environment's route, like https://shop.example.com, with no user, path, query or
	// fragment. Empty on the local target, whose checks go to the environment's listen address.
	URL string
	// Path starts with "/".
	Path string
	// Method is GET by default, or HEAD, POST, PUT, DELETE or PATCH.
	Method string
	// Body is sent with the request when it is not empty.
	Body string
	// ExpectStatus is 200 by default.
	ExpectStatus int
	ExpectBody   string
	// Every is the time between requests; the analysis interval by default.
	Every time.Duration
	// Timeout bounds one request, 2s by default.
	Timeout time.Duration
}

// PrometheusCheck runs Query, an instant PromQL query that must return one number, against the Prometheus
// server at URL and bounds the result. At least one of Min and Max is set. On the kubernetes target Query is
// a template over QueryVars, checked by Parse and filled in by Render; the local target sends it as written.
type PrometheusCheck struct {
	URL   string
	Query string
	// Templated: Query names {{ .Variant }}, {{ .Control }} or {{ .Flag }} (see RenderQuery). Such a check
	// is a variant check: it judges flag rollouts, one per flag, and release rollouts skip it.
	Templated bool
	Min, Max  *float64
	// MaxOverControl bounds the variant's value minus the control's, the query rendered for each at the
	// same instant (a cost or an error rate: lower is better); MaxUnderControl bounds the control's minus
	// the variant's (a quality score: higher is better).
	MaxOverControl, MaxUnderControl *float64
}

// Pos is a 1-based line and column in the pipeline file. Stages, steps and environments record where their
// mapping starts, so that later errors (a failed gate, an unknown secret) can point at the file.
type Pos struct {
	Line int
	Col  int
}

// Environment returns the environment called name, or nil if there is none.
func (p *Pipeline) Environment(name string) *Environment {
	for i := range p.Environments {
		if p.Environments[i].Name == name {
			return &p.Environments[i]
		}
	}
	return nil
}

// Next returns the environments promoted to once a rollout to the environment called name succeeded: those
// whose After is name, in file order.
func (p *Pipeline) Next(name string) []*Environment {
	if name == "" {
		return nil
	}
	return p.environments(func(e *Environment) bool { return e.After == name })
}

// Roots returns the environments deployed when a run passes: those without After, in file order.
func (p *Pipeline) Roots() []*Environment {
	return p.environments(func(e *Environment) bool { return e.After == "" })
}

func (p *Pipeline) environments(keep func(*Environment) bool) []*Environment {
	var envs []*Environment
	for i := range p.Environments {
		if keep(&p.Environments[i]) {
			envs = append(envs, &p.Environments[i])
		}
	}
	return envs
}

// AddFlagsFile reads data, the content of FlagsFile, into pl.Flags. Flags are declared in one place: a file
// next to a "flags:" section of the pipeline is an error.
func (pl *Pipeline) AddFlagsFile(data []byte) error {
	if pl.Flags != nil {
		return &Error{File: FlagsFile, Msg: "flags are declared both here and in the flags: section of " + FileName + "; keep one"}
	}
	set, err := flags.Parse(FlagsFile, data)
	if err != nil {
		return err
	}
	pl.Flags = set
	return nil
}
