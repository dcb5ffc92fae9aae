// Package engine runs a pipeline for one commit: stages in order, the steps of a stage in parallel, each step a
// `sh -e` script in its own process group, with timeouts, retries, masked logs, metric gates and artifacts.
//
// The engine records nothing itself: it reports to an Observer, which the server backs with the store and
// `ferry exec` with the terminal. It must not import server or cli.
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/evals"
	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/sandbox"
	"github.com/ferry-cd/ferry/internal/store"
)

// Engine runs pipelines. The zero value is usable; fields tune it.
type Engine struct {
	// Shell runs each step's script as `Shell -e -c SCRIPT`; "sh" when empty.
	Shell string
	// MaxParallel bounds the steps of one stage that run at once; 4 when zero.
	MaxParallel int
	// DefaultTimeout applies to steps that set none; one hour when zero.
	DefaultTimeout time.Duration
	// KillGrace is how long a step's process group has between SIGTERM and SIGKILL; 3 s when zero.
	KillGrace time.Duration
	// BaseEnv is the environment every step starts from (KEY=VALUE); BaseEnviron() when nil.
	BaseEnv []string
	// Artifacts stores the files steps keep; artifacts are refused when nil.
	Artifacts *artifact.Store
	// Sandbox isolates each step: it sees the job's Workspace, TempDir and CacheDir writable, the machine
	// read-only and nothing of ferry's data. Nil runs steps as ferry's own user with all it can reach: only for
	// code the operator trusts (ferry exec on one's own checkout).
	Sandbox *sandbox.Sandbox
	// SharedCaches, when set, are folders every step may write to, the tool caches of ferry's own user, used
	// instead of each job's CacheDir: faster first builds, but one project's steps could poison what another's
	// build takes from the cache. Only for a server whose projects trust each other (and ferry demo).
	SharedCaches []string
}

// Job is one execution of a pipeline.
type Job struct {
	Pipeline *pipeline.Pipeline
	// Workspace is the checkout the steps run in.
	Workspace string
	// TempDir holds the run's scratch files (metrics files, TMPDIR of the steps); the caller removes it.
	TempDir string
	// CacheDir, when set, outlives the run and is shared by the runs of one project only: the steps' tool
	// caches (GOCACHE, GOMODCACHE, GOPATH, XDG_CACHE_HOME, npm's and pip's) point into it, so one project's
	// steps can neither read nor poison another's.
	CacheDir string
	// Vars are extra environment variables for every step, typically FERRY_COMMIT, FERRY_BRANCH and FERRY_RUN_ID.
	// The engine adds FERRY_WORKSPACE, FERRY_METRICS, FERRY_CASES and FERRY_IMAGES.
	Vars map[string]string
	// Secrets holds the values a step may request by name. Every value is masked in every log line.
	Secrets map[string]string
	// Baseline returns the metrics of the same step in the baseline run; nil means no baseline.
	Baseline func(stage, step string) (metrics []gate.Metric, found bool)
	// BaselineCases returns the cases of the same step in the baseline run and that run's ID; nil means no
	// baseline.
	BaselineCases func(stage, step string) (run int64, cases []evals.Case, found bool)
	Observer      Observer

	sandbox *runSandbox // the steps' shared sandbox while Run runs
}

// StepRef names a step of the job: Index orders steps as the file does.
type StepRef struct {
	Index int
	Stage string
	Name  string
}

// writable lists the folders a step of job may write to.
func (e *Engine) writable(job *Job) []string {
	dirs := []string{job.Workspace, job.TempDir, job.CacheDir}
	if e.SharedCaches != nil {
		dirs = append(dirs[:2], e.SharedCaches...)
	}
	var out []string
	for _, d := range dirs {
		if d != "" {
			out = append(out, d)
		}
	}
	return out
}

// FullName is "stage/step".
func (r StepRef) FullName() string { return r.Stage + "/" + r.Name }

// Line is one log line of a step.
type Line struct {
	Time time.Time
	Text string
}

// StepResult is how a step ended.
type StepResult struct {
	State    store.StepState
	Attempts int
	ExitCode int
	Reason   string
	Metrics  []gate.Metric
	Verdicts []gate.Verdict
	// Cases are the evaluation cases the last attempt reported (nil: none), marked flaky when they flipped
	// between attempts; CasesBaseline is the run they were compared with (0: none).
	Cases         []evals.Case
	CasesBaseline int64
	Artifacts     []store.Artifact
	// Images are the images the step reported at $FERRY_IMAGES (repo@sha256:...), in the order of its
	// images key; nil when it declares none.
	Images     []string
	StartedAt  time.Time
	FinishedAt time.Time
}

// Result is how a job ended: passed, failed, canceled or error.
type Result struct {
	State      store.RunState
	Reason     string
	FailedStep string
	Steps      map[int]StepResult
}

// Observer hears about a job as it runs. Calls for one step are made in order from one goroutine at a time;
// calls for different steps may be concurrent. Log's lines are only valid during the call.
type Observer interface {
	StepStarted(ref StepRef, attempt int, pid int)
	Log(ref StepRef, lines []Line)
	StepFinished(ref StepRef, res StepResult)
}

// ErrCanceled is the cause the engine reports when its context is canceled without one.
var ErrCanceled = errors.New("canceled")

// Run runs the job's stages in order and returns when every step has finished. Canceling ctx kills every
// running step's process group; the result is then canceled, with context.Cause(ctx) as the reason.
func (e *Engine) Run(ctx context.Context, job *Job) Result {
	if e.Sandbox != nil && !e.Sandbox.PerCommand {
		job.sandbox = &runSandbox{}
		defer job.sandbox.close()
	}
	res := Result{State: store.RunPassed, Steps: map[int]StepResult{}}
	var mu sync.Mutex
	index := 0
	for _, stage := range job.Pipeline.Stages {
		refs := make([]StepRef, len(stage.Steps))
		for i, st := range stage.Steps {
			refs[i] = StepRef{Index: index, Stage: stage.Name, Name: st.Name}
			index++
		}
		if res.State != store.RunPassed || ctx.Err() != nil {
			for _, ref := range refs {
				r := StepResult{State: store.StepSkipped, Reason: "an earlier stage did not pass"}
				if ctx.Err() != nil && res.State == store.RunPassed {
					r.Reason = "run canceled"
				}
				job.Observer.StepFinished(ref, r)
				res.Steps[ref.Index] = r
			}
			continue
		}

		stageCtx, cancelStage := context.WithCancelCause(ctx)
		sem := make(chan struct{}, e.maxParallel())
		var wg sync.WaitGroup
		var firstFail *StepRef
		var firstAt time.Time
		for i := range stage.Steps {
			st := &stage.Steps[i]
			ref := refs[i]
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-stageCtx.Done():
				}
				var r StepResult
				if stageCtx.Err() != nil {
					r = StepResult{State: store.StepSkipped, Reason: "not started: " + causeText(stageCtx)}
					job.Observer.StepFinished(ref, r)
				} else {
					r = e.runStep(stageCtx, job, ref, st)
					<-sem
				}
				mu.Lock()
				defer mu.Unlock()
				res.Steps[ref.Index] = r
				if (r.State == store.StepFailed || r.State == store.StepError) && (firstFail == nil || r.FinishedAt.Before(firstAt)) {
					firstFail, firstAt = &ref, r.FinishedAt
					cancelStage(fmt.Errorf("canceled because %s failed", ref.FullName()))
				}
			}()
		}
		wg.Wait()
		cancelStage(nil)
		if firstFail != nil {
			r := res.Steps[firstFail.Index]
			res.State = store.RunFailed
			res.FailedStep = firstFail.FullName()
			res.Reason = firstFail.FullName() + ": " + r.Reason
		} else if ctx.Err() != nil {
			res.State = store.RunCanceled
			res.Reason = causeText(ctx)
		}
	}
	if res.State == store.RunPassed && ctx.Err() != nil {
		res.State, res.Reason = store.RunCanceled, causeText(ctx)
	}
	return res
}

func causeText(ctx context.Context) string {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c.Error()
	}
	return ErrCanceled.Error()
}

func (e *Engine) maxParallel() int {
	if e.MaxParallel > 0 {
		return e.MaxParallel
	}
	return 4
}

// runStep runs one step with its retries, then its gates and artifacts.
func (e *Engine) runStep(ctx context.Context, job *Job, ref StepRef, st *pipeline.Step) StepResult {
	res := StepResult{StartedAt: time.Now()}
	finish := func(state store.StepState, reason string) StepResult {
		res.State, res.Reason, res.FinishedAt = state, reason, time.Now()
		job.Observer.StepFinished(ref, res)
		return res
	}

	env, secrets, err := e.stepEnv(job, ref, st)
	if err != nil {
		res.Attempts = 0
		return finish(store.StepFailed, err.Error())
	}
	metricsPath := env["FERRY_METRICS"]
	cases := newCasesSource(job, st, env["FERRY_CASES"])
	var earlier []evals.Case // the cases of the attempt before, to tell flaky ones
	timeout := st.Timeout
	if timeout <= 0 {
		timeout = e.defaultTimeout()
	}
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		// The metrics file starts empty each attempt, so a retry never passes on a stale file.
		if err := resetMetricsFile(metricsPath); err != nil {
			return finish(store.StepError, fmt.Sprintf("create metrics file: %v", err))
		}
		if err := cases.reset(); err != nil {
			return finish(store.StepError, fmt.Sprintf("reset cases file: %v", err))
		}
		// The images file too: a retry reports what it pushed, never what an earlier attempt did.
		if err := resetMetricsFile(env[pipeline.ImagesVar]); err != nil {
			return finish(store.StepError, fmt.Sprintf("create images file: %v", err))
		}
		res.Cases, res.CasesBaseline = nil, 0
		out := e.attempt(ctx, job, ref, st, attempt, timeout, env, secrets)
		res.ExitCode = out.exitCode
		if out.canceled {
			return finish(store.StepCanceled, causeText(ctx))
		}
		state, reason := store.StepPassed, ""
		switch {
		case out.err != nil:
			state, reason = store.StepError, out.err.Error()
		case out.timedOut:
			state, reason = store.StepFailed, withOutput(fmt.Sprintf("timed out after %s", timeout), out.last)
		case out.exitCode != 0:
			state, reason = store.StepFailed, withOutput(fmt.Sprintf("exit status %d", out.exitCode), out.last)
		default:
			state, reason = e.checkGates(job, ref, st, metricsPath, secrets, &res)
			res.Images = nil
			if len(st.Images) > 0 {
				if imgs, err := readImages(env[pipeline.ImagesVar], st.Images); err != nil {
					state, reason = store.StepFailed, joinReasons(reason, "$"+pipeline.ImagesVar+": "+err.Error())
				} else {
					res.Images = imgs
				}
			}
			if cs, err := cases.read(secrets); err != nil {
				state, reason = store.StepFailed, joinReasons(reason, err.Error())
			} else if cs != nil {
				evals.MarkFlaky(earlier, cs)
				earlier, res.Cases = cs, cs
				if st.Cases != nil && len(st.Cases.Gates) > 0 {
					if failed := e.checkCaseGates(job, ref, st, &res); failed != "" {
						state, reason = store.StepFailed, joinReasons(reason, failed)
					}
				}
			}
		}
		if state == store.StepPassed {
			break
		}
		if attempt > st.Retries || state == store.StepError {
			return finish(state, withAttempts(reason, attempt))
		}
		first, _, _ := strings.Cut(reason, "\n")
		job.Observer.Log(ref, []Line{{Time: time.Now(), Text: fmt.Sprintf("ferry: attempt %d of %d failed (%s); retrying", attempt, st.Retries+1, first)}})
	}

	if len(st.Artifacts) > 0 {
		if e.Artifacts == nil {
			return finish(store.StepError, "artifacts are not kept by this engine")
		}
		files, err := e.Artifacts.CollectContext(ctx, job.Workspace, st.Artifacts)
		if ctx.Err() != nil {
			return finish(store.StepCanceled, causeText(ctx))
		}
		if err != nil {
			return finish(store.StepFailed, err.Error())
		}
		res.Artifacts = files
	}
	return finish(store.StepPassed, "")
}

func withAttempts(reason string, attempts int) string {
	if attempts > 1 {
		first, more, found := strings.Cut(reason, "\n") // on the line lists show
		first = fmt.Sprintf("%s (after %d attempts)", first, attempts)
		if found {
			return first + "\n" + more
		}
		return first
	}
	return reason
}

// checkGates reads the step's metrics and judges its gates against the baseline.
func (e *Engine) checkGates(job *Job, ref StepRef, st *pipeline.Step, metricsPath string, secrets []string, res *StepResult) (store.StepState, string) {
	res.Metrics, res.Verdicts = nil, nil
	metrics, err := readMetrics(metricsPath, secrets)
	if err != nil {
		return store.StepFailed, fmt.Sprintf("$FERRY_METRICS: %v", err)
	}
	res.Metrics = metrics
	if len(st.Gates) == 0 {
		return store.StepPassed, ""
	}
	var base []gate.Metric
	found := false
	if job.Baseline != nil {
		base, found = job.Baseline(ref.Stage, ref.Name)
	}
	res.Verdicts = gate.Evaluate(st.Gates, metrics, base, found)
	if !gate.Passed(res.Verdicts) {
		return store.StepFailed, gate.Failures(res.Verdicts)
	}
	return store.StepPassed, ""
}

// checkCaseGates judges the step's cases against the baseline's and adds the verdicts to the metric gates'
// ones; it returns the failures, "" when every case gate passed.
func (e *Engine) checkCaseGates(job *Job, ref StepRef, st *pipeline.Step, res *StepResult) string {
	var base []evals.Case
	found := false
	if job.BaselineCases != nil {
		res.CasesBaseline, base, found = job.BaselineCases(ref.Stage, ref.Name)
	}
	vs := evals.Evaluate(st.Cases.Gates, res.Cases, base, found)
	res.Verdicts = append(res.Verdicts, vs...)
	return gate.Failures(vs)
}

func joinReasons(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func (e *Engine) defaultTimeout() time.Duration {
	if e.DefaultTimeout > 0 {
		return e.DefaultTimeout
	}
	return time.Hour
}

// stepEnv builds the step's environment: the base, the pipeline's env, the step's env, the FERRY_ variables
// and the requested secrets, later entries winning. It returns the secret values to mask.
func (e *Engine) stepEnv(job *Job, ref StepRef, st *pipeline.Step) (map[string]string, []string, error) {
	env := map[string]string{}
	base := e.BaseEnv
	if base == nil {
		base = BaseEnviron()
	}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for k, v := range job.Pipeline.Env {
		env[k] = v
	}
	for k, v := range st.Env {
		env[k] = v
	}
	for k, v := range job.Vars {
		env[k] = v
	}
	env["FERRY_WORKSPACE"] = job.Workspace
	env["FERRY_METRICS"] = filepath.Join(job.TempDir, fmt.Sprintf("metrics-%d.json", ref.Index))
	env["FERRY_CASES"] = filepath.Join(job.TempDir, fmt.Sprintf("cases-%d.jsonl", ref.Index))
	env[pipeline.ImagesVar] = filepath.Join(job.TempDir, fmt.Sprintf("images-%d.txt", ref.Index))
	env["FERRY_STAGE"] = ref.Stage
	env["FERRY_STEP"] = ref.Name
	if job.TempDir != "" {
		env["TMPDIR"] = job.TempDir
	}
	if c := job.CacheDir; c != "" && e.SharedCaches == nil {
		for k, sub := range cacheVars {
			env[k] = filepath.Join(c, sub)
		}
	}
	var missing []string
	for _, name := range st.Secrets {
		v, ok := job.Secrets[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		env[name] = v
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, nil, fmt.Errorf("secret %s is not set (set it with: ferry secret set PROJECT %s)", strings.Join(missing, ", "), missing[0])
	}
	// Mask every secret the job knows, not only the requested ones: a step can still print one it reads
	// from elsewhere (a file the build wrote, say).
	values := make([]string, 0, len(job.Secrets))
	for _, v := range job.Secrets {
		values = append(values, v)
	}
	return env, values, nil
}

// cacheVars point the tool caches a step writes into the project's cache folder (Job.CacheDir).
var cacheVars = map[string]string{
	"GOCACHE": "go-build", "GOMODCACHE": "go-mod", "GOPATH": "go", "XDG_CACHE_HOME": "xdg",
	"npm_config_cache": "npm", "PIP_CACHE_DIR": "pip",
}

// baseEnvKeys are the variables a step inherits from the process that runs ferry: enough for toolchains to
// work (PATH, HOME, locale, caches), never ferry's own settings or tokens.
var baseEnvKeys = []string{
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TERM",
	"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN", "GONOSUMDB", "GOPRIVATE",
	"npm_config_cache", "PIP_CACHE_DIR", "CARGO_HOME", "RUSTUP_HOME", "XDG_CACHE_HOME",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// BaseEnviron returns the minimal base environment steps start from, taken from ferry's own environment.
func BaseEnviron() []string {
	var env []string
	for _, k := range baseEnvKeys {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if _, ok := os.LookupEnv("PATH"); !ok {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	if _, ok := os.LookupEnv("LANG"); !ok {
		env = append(env, "LANG=C.UTF-8")
	}
	return env
}
