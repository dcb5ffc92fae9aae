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

func ExamplePipeline_Next() {
	p, err := pipeline.Parse(".ferry.yaml", []byte(`version: 1
stages: [{name: build, steps: [{name: compile, run: go build ./...}]}]
environments:
  - name: staging
    service: {run: ./app, listen: 127.0.0.1:9001}
  - name: production
    after: staging
    service: {run: ./app, listen: 127.0.0.1:9000, instances: 3}
    strategy: {canary: {steps: [{weight: 10, pause: 1m}, {weight: 50, pause: 1m}]}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	envs := p.Roots()
	for len(envs) > 0 {
		e := envs[0]
		fmt.Printf("%s: %s, %d instance(s) on %s, analysis every %v\n",
			e.Name, e.Strategy.Kind, e.Service.Instances, e.Service.Listen, e.Analysis.Interval)
		envs = append(envs[1:], p.Next(e.Name)...)
	}
	// Output:
	// staging: direct, 1 instance(s) on 127.0.0.1:9001, analysis every 5s
	// production: canary, 3 instance(s) on 127.0.0.1:9000, analysis every 5s
}

func ExampleParse_kubernetes() {
	_, err := pipeline.Parse(".ferry.yaml", []byte(`version: 1
stages: [{name: build, steps: [{name: image, run: ko build ./cmd/shop > "$FERRY_IMAGES", images: [ghcr.io/acme/shop]}]}]
environments:
  - name: production
    target: kubernetes
    kubernetes:
      namespace: shop
      manifests: ../deploy
      workload: deploy/shop
    strategy: blue_green
`))
	fmt.Println(err)
	// Output:
	// .ferry.yaml:7:7: kubernetes has no "service"; strategy blue_green switches the selector of the Service in front of the workload: add it, like service: service/shop
	// .ferry.yaml:8:18: "manifests" "../deploy" has a ".." element; give a path inside the repository, like deploy/k8s
	// .ferry.yaml:9:17: "workload" "deploy/shop": write the kind as deployment, like deployment/shop
}
