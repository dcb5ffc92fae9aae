package kubernetes_test

import (
	"testing"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/deploy/deploytest"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

type deploytestHarness = deploytest.Harness

// contract is the suite's harness: environments are canaries through an HTTPRoute, each in a namespace of
// its own; the drift the suite makes is a Deployment copy scaled behind ferry's back, which ferry heals.
func (h *harness) contract(t *testing.T) *deploytest.Harness {
	return &deploytest.Harness{
		Target: newTarget(t, h.kubeconfig),
		Reopen: h.reopen,
		Env:    func(t *testing.T) deploy.Environment { return h.env(t, pipeline.Canary, true) },
		Release: func(t *testing.T, env deploy.Environment, name string, healthy bool) deploy.Release {
			return release(env, name, healthy, false)
		},
		Crashing: func(t *testing.T, env deploy.Environment, name string) deploy.Release {
			return release(env, name, true, true)
		},
		Get:     h.get,
		Disturb: h.disturb,
		Unrunnable: func(t *testing.T) (deploy.Environment, deploy.Release) {
			env := deploy.Environment{Key: store.EnvKey{Project: "shop", Env: "nowhere"}, Spec: envSpec("no-such-namespace", pipeline.Canary, true)}
			return env, release(env, "one", true, false)
		},
		SelfHealing: true,
	}
}

// TestContract runs the contract every deploy.Target passes against the Kubernetes target and a real
// control plane (kwok's node: pods become Ready without a container runtime; a test kubelet serves them).
func TestContract(t *testing.T) {
	deploytest.Run(t, newHarness)
}
