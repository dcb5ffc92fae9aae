package pipeline_test

import (
	"fmt"

	"github.com/ferry-cd/ferry/internal/pipeline"
)

func ExampleParse() {
	_, err := pipeline.Parse(".ferry.yaml", []byte(`version: 1
stages:
  - name: build
    steps:
      - name: compile
        run: go build ./...
        timout: 10m
        retries: 20
`))
	fmt.Println(err)
	// Output:
	// .ferry.yaml:7:9: unknown key "timout" in step (did you mean "timeout"?)
	// .ferry.yaml:8:18: "retries" must be a whole number from 0 to 10, not 20
}
