package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/runs"
	"github.com/ferry-cd/ferry/internal/sandbox"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

func (a *app) execCommand() *cobra.Command {
	var timeout time.Duration
	var parallel int
	var iso isolationFlags
	c := &cobra.Command{
		Use:   "exec [DIR]",
		Short: "Run the pipeline of a local checkout once, without a server",
		Long: `Run the .ferry.yaml pipeline of the checkout in DIR (default: the current folder) once, in place,
streaming each step's output prefixed with stage/step. Secrets a step asks for are read from ferry's own
environment (export BENCH_TOKEN=... before ferry exec). Gates that compare with a baseline pass with
"no baseline". Exit status 0 only when every step and gate passed.`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			sb, err := iso.sandbox("")
			if err != nil {
				return err
			}
			return a.exec(c.Context(), dir, timeout, parallel, sb)
		},
	}
	iso.add(c, "none", "steps")
	c.Flags().DurationVar(&timeout, "timeout", 0, "default step timeout (default 1h)")
	c.Flags().IntVar(&parallel, "parallel", 4, "steps of one stage run at once")
	return c
}

func (a *app) exec(ctx context.Context, dir string, timeout time.Duration, parallel int, sb *sandbox.Sandbox) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	data, ok, err := source.ReadRepoFile(abs, pipeline.FileName)
	if err != nil {
		return fmt.Errorf("read pipeline: %w", err)
	}
	if !ok {
		return fmt.Errorf("read pipeline: no %s in %s (create one with: ferry init)", pipeline.FileName, dir)
	}
	pl, err := pipeline.Parse(filepath.Join(dir, pipeline.FileName), data)
	if err != nil {
		fmt.Fprintln(a.stderr, err)
		return exitError{code: 1}
	}
	scratch, err := os.MkdirTemp("", "ferry-exec-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	secrets := map[string]string{}
	for _, name := range runs.SecretNames(pl) {
		if v, ok := os.LookupEnv(name); ok {
			secrets[name] = v
		}
	}
	eng := &engine.Engine{MaxParallel: parallel, DefaultTimeout: timeout, Artifacts: &artifact.Store{Dir: filepath.Join(scratch, "blobs")}, Sandbox: sb}
	tmp := filepath.Join(scratch, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	obs := &termObserver{w: a.stdout, results: map[int]engine.StepResult{}}
	start := time.Now()
	// The same execution as a server's run, in place and with no store: the checkout is the folder itself.
	x := &runs.Execution{
		Pipeline: pl, Workspace: abs, TempDir: tmp, Secrets: secrets, Observer: obs,
		Project: filepath.Base(abs), Run: "exec",
		Commit: gitRev(abs, "--verify", "--quiet", "HEAD"), Branch: gitRev(abs, "--abbrev-ref", "HEAD"),
	}
	res := x.Execute(ctx, eng)
	fmt.Fprintln(a.stdout)
	var steps []*api.Step
	for _, st := range runs.PlannedSteps(0, pl) {
		r := res.Steps[st.Index]
		verdicts := make([]api.GateVerdict, len(r.Verdicts))
		for j, v := range r.Verdicts {
			verdicts[j] = api.GateVerdict(v)
		}
		steps = append(steps, &api.Step{Index: st.Index, Stage: st.Stage, Name: st.Name, State: api.StepState(r.State),
			Attempts: r.Attempts, ExitCode: r.ExitCode, Reason: r.Reason, Verdicts: verdicts, StartedAt: r.StartedAt,
			FinishedAt: r.FinishedAt})
	}
	printSteps(a.stdout, steps)
	fmt.Fprintf(a.stdout, "\nrun %s in %s", res.State, time.Since(start).Round(time.Millisecond))
	if res.Reason != "" {
		fmt.Fprintf(a.stdout, ": %s", res.Reason)
	}
	fmt.Fprintln(a.stdout)
	if res.State != store.RunPassed {
		return exitError{code: 1}
	}
	return nil
}

// gitRev returns what `git rev-parse` says of rev in dir, or "" when dir is not a git checkout.
func gitRev(dir string, args ...string) string {
	out, err := exec.Command("git", append([]string{"-C", dir, "rev-parse"}, args...)...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// termObserver prints a job's output as "[stage/step] line".
type termObserver struct {
	mu      sync.Mutex
	w       interface{ Write([]byte) (int, error) }
	results map[int]engine.StepResult
}

func (o *termObserver) StepStarted(ref engine.StepRef, attempt int, pid int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if attempt == 1 {
		fmt.Fprintf(o.w, "[%s] ▶ started\n", ref.FullName())
	} else {
		fmt.Fprintf(o.w, "[%s] ▶ attempt %d\n", ref.FullName(), attempt)
	}
}

func (o *termObserver) Log(ref engine.StepRef, lines []engine.Line) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range lines {
		fmt.Fprintf(o.w, "[%s] %s\n", ref.FullName(), l.Text)
	}
}

func (o *termObserver) StepFinished(ref engine.StepRef, res engine.StepResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.results[ref.Index] = res
	if res.State == store.StepSkipped {
		return
	}
	msg := fmt.Sprintf("[%s] ■ %s in %s", ref.FullName(), res.State, res.FinishedAt.Sub(res.StartedAt).Round(time.Millisecond))
	if res.Reason != "" {
		msg += ": " + res.Reason
	}
	fmt.Fprintln(o.w, msg)
}
