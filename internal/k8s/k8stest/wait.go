package k8stest

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kwokAnnotation marks the nodes kwok manages.
const kwokAnnotation = "kwok.x-k8s.io/node"

// poll calls cond every interval until it is done, ctx ends, or a component exits. what names the wait in
// the error, with cond's last error.
func (cp *ControlPlane) poll(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if err := cp.checkAlive(); err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		done, err := cond(ctx)
		if done {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last error: %v)", what, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

func (cp *ControlPlane) waitReadyz(ctx context.Context) error {
	return cp.poll(ctx, "kube-apiserver /readyz", func(ctx context.Context) (bool, error) {
		_, err := cp.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, err
	})
}

// createNode registers the fake node; kwok, which watches nodes with its annotation, fills in its status and
// keeps its lease.
func (cp *ControlPlane) createNode(ctx context.Context) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        NodeName,
		Annotations: map[string]string{kwokAnnotation: "fake"},
		Labels: map[string]string{
			"kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok",
		},
	}}
	if _, err := cp.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", NodeName, err)
	}
	return nil
}

// waitNodeReady waits for the node's Ready condition and for the node lifecycle controller to lift its
// not-ready taint, which keeps the scheduler away until then.
func (cp *ControlPlane) waitNodeReady(ctx context.Context) error {
	return cp.poll(ctx, "node "+NodeName+" Ready", func(ctx context.Context) (bool, error) {
		node, err := cp.Client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, t := range node.Spec.Taints {
			if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
				return false, fmt.Errorf("taint %s", t.Key)
			}
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, fmt.Errorf("Ready=%s: %s", c.Status, c.Message)
			}
		}
		return false, fmt.Errorf("no Ready condition yet")
	})
}
