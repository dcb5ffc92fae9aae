package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
)

type attemptResult struct {
	exitCode int
	timedOut bool
	canceled bool
	err      error    // the process could not be started
	last     []string // the last lines of its output, masked
}

// attempt runs the step's script once, in the engine's sandbox (or its own process group without one), and
// streams its output to the observer. When the script exits, times out or is canceled, everything it started
// is killed, so no child outlives its step.
func (e *Engine) attempt(ctx context.Context, job *Job, ref StepRef, st *pipeline.Step, n int, timeout time.Duration,
	env map[string]string, secrets []string) attemptResult {
	shell := e.Shell
	if shell == "" {
		shell = "sh"
	}
	cmd := exec.Command(shell, "-e", "-c", st.Run)
	cmd.Dir = job.Workspace
	cmd.Env = envList(env)
	r, w, err := os.Pipe()
	if err != nil {
		return attemptResult{exitCode: -1, err: fmt.Errorf("create pipe: %w", err)}
	}
	cmd.Stdout, cmd.Stderr = w, w
	proc, err := e.start(job, cmd)
	if err != nil {
		r.Close()
		w.Close()
		return attemptResult{exitCode: -1, err: fmt.Errorf("start %s: %w", shell, err)}
	}
	w.Close()
	job.Observer.StepStarted(ref, n, proc.PID())

	readDone := make(chan struct{})
	var last lastLines
	go func() {
		defer close(readDone)
		e.stream(r, job, ref, secrets, &last)
	}()
	waitDone := make(chan error, 1)
	go func() { waitDone <- proc.Wait() }()

	stepCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var waitErr error
	select {
	case waitErr = <-waitDone:
	case <-stepCtx.Done():
		proc.Signal(syscall.SIGTERM)
		select {
		case waitErr = <-waitDone:
		case <-time.After(e.killGrace()):
			proc.Kill()
			waitErr = <-waitDone
		}
	}
	// Children left behind by the script (daemons, `cmd &`) die with the step.
	proc.Kill()
	select {
	case <-readDone:
	case <-time.After(2 * time.Second):
		// A process that left the group still holds the pipe; stop reading rather than hang.
		r.Close()
		<-readDone
	}
	r.Close()

	out := attemptResult{exitCode: proc.ExitCode(), last: last.lines}
	var exitErr interface{ ExitCode() int }
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		out.err = fmt.Errorf("wait: %w", waitErr)
	}
	switch {
	case ctx.Err() != nil:
		out.canceled = true
	case stepCtx.Err() != nil:
		out.timedOut = true
	}
	return out
}

// stream reads the step's output, splits it into masked lines and hands them to the observer in batches, one
// batch per read, so memory stays bounded whatever the step prints.
func (e *Engine) stream(r *os.File, job *Job, ref StepRef, secrets []string, last *lastLines) {
	var batch []Line
	var now time.Time
	ls := newLineSplitter(secrets, func(b []byte) {
		batch = append(batch, Line{Time: now, Text: string(b)})
		last.add(string(b))
	})
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			now = time.Now()
			ls.Write(buf[:n])
			if len(batch) > 0 {
				job.Observer.Log(ref, batch)
				batch = batch[:0]
			}
		}
		if err != nil {
			break
		}
	}
	now = time.Now()
	ls.Close()
	if len(batch) > 0 {
		job.Observer.Log(ref, batch)
	}
}

func (e *Engine) killGrace() time.Duration {
	if e.KillGrace > 0 {
		return e.KillGrace
	}
	return 3 * time.Second
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
