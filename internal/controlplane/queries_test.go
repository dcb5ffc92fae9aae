package controlplane

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/store"
)

const kubeQueryPipeline = `version: 1
stages: [{name: build, steps: [{name: compile, run: make}]}]
environments:
  - name: production
    target: kubernetes
    kubernetes: {namespace: shop, manifests: deploy, workload: deployment/shop}
    analysis:
      interval: 10s
      checks:
        - prometheus:
            url: http://prometheus:9090
            query: 'rate(errors{namespace="{{ .Namespace }}", workload="{{ .Workload }}", version="{{ .Version }}"}[{{ .Interval }}]) > on() rate(errors{version="{{ .StableVersion }}"}[{{ .Interval }}])'
            max: 0
`

// TestKubernetesQueriesRendered: a kubernetes environment's Prometheus queries are filled in for the
// release analysed and the stable one.
func TestKubernetesQueriesRendered(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	if err := db.CreateProject(ctx, &store.Project{Name: "shop", Repo: "https://git.example/shop.git", Branch: "main",
		Concurrency: 1, WebhookSecret: "s", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	rel := &store.Release{Project: "shop", Pipeline: kubeQueryPipeline}
	if err := db.CreateRelease(ctx, rel); err != nil {
		t.Fatal(err)
	}
	pl, err := pipeline.Parse(pipeline.FileName, []byte(kubeQueryPipeline))
	if err != nil {
		t.Fatal(err)
	}
	a := &analyzers{store: db, log: slog.New(slog.DiscardHandler)}
	subject := rollout.AnalysisSubject{Key: store.EnvKey{Project: "shop", Env: "production"}, New: strconv.FormatInt(rel.ID, 10), Old: "7"}
	checks := a.kubernetesChecks(ctx, pl.Environment("production").Analysis, subject)
	want := `rate(errors{namespace="shop", workload="shop", version="` + subject.New + `"}[10s]) > on() rate(errors{version="7"}[10s])`
	if got := checks[0].Prometheus.Query; got != want {
		t.Errorf("query = %s\nwant    %s", got, want)
	}
	if pl.Environment("production").Analysis.Checks[0].Prometheus.Query == want {
		t.Error("rendering changed the pipeline's own check")
	}
}
