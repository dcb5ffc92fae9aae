package kubernetes_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
	"github.com/ferry-cd/ferry/internal/pipeline"
)

// TestMux: a kubernetes environment goes to the Kubernetes target, and is refused with the way to give
// ferry a cluster while it has none; a local one without a local target is refused too.
func TestMux(t *testing.T) {
	cp := k8stest.Shared(t)
	h := &harness{cp: cp, kubelets: map[string]*kubelet{}}
	ctx := context.Background()
	env := h.env(t, pipeline.Canary, true)
	rel := release(env, "one", true, false)

	none := &deploy.Mux{}
	err := none.Prepare(ctx, env, rel)
	if r := deploy.AsRefused(err); r == nil || !strings.Contains(r.Reason, "no kubeconfig: start ferry serve with --kubeconfig") {
		t.Errorf("prepare without a cluster = %v; want the refusal naming --kubeconfig", err)
	}
	local := deploy.Environment{Key: envKey("local"), Spec: &pipeline.Environment{Name: "local", Target: pipeline.TargetLocal}}
	if err := none.Route(ctx, local, deploy.Split{Stable: "1"}); deploy.AsRefused(err) == nil {
		t.Errorf("route of a local environment without a local target = %v; want a refusal", err)
	}

	m := &deploy.Mux{Kubernetes: newTarget(t, cp.Kubeconfig)}
	prepared(t, m, env, rel)
	route(t, m, env, deploy.Split{Stable: rel.ID})
	must(t, "route to nothing (no spec: the target it was sent to)", m.Route(ctx, deploy.Environment{Key: env.Key}, deploy.Split{}))
	must(t, "stop", m.Stop(ctx, env.Key, rel.ID))
	waitFor(t, m, env, "the environment gone", func(es *deploy.EnvStatus) bool { return es == nil })
}
