package engine_test

import (
	"context"
	"fmt"
	"os"

	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/pipeline"
)

// printer is an Observer that prints each log line and how each step ended.
type printer struct{}

func (printer) StepStarted(engine.StepRef, int, int) {}

func (printer) Log(ref engine.StepRef, lines []engine.Line) {
	for _, l := range lines {
		fmt.Printf("%s: %s\n", ref.FullName(), l.Text)
	}
}

func (printer) StepFinished(ref engine.StepRef, res engine.StepResult) {
	fmt.Printf("%s %s\n", ref.FullName(), res.State)
}

func Example() {
	dir, _ := os.MkdirTemp("", "ferry-example-")
	defer os.RemoveAll(dir)

	pl := &pipeline.Pipeline{
		Env: map[string]string{"GREETING": "hello"},
		Stages: []pipeline.Stage{
			{Name: "test", Steps: []pipeline.Step{{Name: "greet", Run: `echo "$GREETING from $FERRY_STAGE/$FERRY_STEP, token $TOKEN"`, Secrets: []string{"TOKEN"}}}},
			{Name: "deploy", Steps: []pipeline.Step{{Name: "ship", Run: "exit 1"}}},
		},
	}
	var e engine.Engine
	res := e.Run(context.Background(), &engine.Job{
		Pipeline:  pl,
		Workspace: dir,
		TempDir:   dir,
		Secrets:   map[string]string{"TOKEN": "s3cr3t"},
		Observer:  printer{},
	})
	fmt.Println(res.State, res.Reason)
	// Output:
	// test/greet: hello from test/greet, token ***
	// test/greet passed
	// deploy/ship failed
	// failed deploy/ship: exit status 1
}
