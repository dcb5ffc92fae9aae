package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/store"
)

// Status reports every environment of the namespaces the target watches, from its informers' caches: no
// call to the API server.
func (t *Target) Status(ctx context.Context) (*deploy.Status, error) {
	out := &deploy.Status{Environments: []deploy.EnvStatus{}}
	t.mu.Lock()
	var spaces []*space
	for _, c := range t.clusters {
		c.mu.Lock()
		for _, s := range c.spaces {
			spaces = append(spaces, s)
		}
		c.mu.Unlock()
	}
	t.mu.Unlock()
	for _, s := range spaces {
		for _, key := range s.envKeys() {
			es := t.envStatus(s, key)
			if es != nil {
				out.Environments = append(out.Environments, *es)
			}
		}
	}
	slices.SortFunc(out.Environments, func(a, b deploy.EnvStatus) int { return strings.Compare(a.Key.String(), b.Key.String()) })
	return out, nil
}

// envKeys are the environments with a copy or a state in the namespace.
func (s *space) envKeys() []store.EnvKey {
	seen := map[store.EnvKey]bool{}
	var out []store.EnvKey
	add := func(a map[string]string) {
		if k, err := store.ParseEnvKey(a[annotEnv]); err == nil && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	ds, _ := s.deployments.Deployments(s.ns).List(labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy, LabelPart: PartCopy}))
	for _, d := range ds {
		add(d.Annotations)
	}
	for _, cm := range s.states() {
		add(cm.Annotations)
	}
	return out
}

func (t *Target) envStatus(s *space, key store.EnvKey) *deploy.EnvStatus {
	copies := s.copies(key)
	es := &deploy.EnvStatus{Key: key}
	var first *release
	for _, d := range copies {
		r, err := s.parse(d)
		if err != nil {
			continue
		}
		if first == nil {
			first = r
		}
		es.Releases = append(es.Releases, s.releaseStatus(key, d, r))
	}
	workload := ""
	if first != nil {
		workload = first.rec.Kube.Workload.Name
	}
	t.mu.Lock()
	e := t.envs[key]
	if e == nil && first != nil {
		// Adopted: found in a namespace this target watches.
		e = &envRecord{key: key, space: s, workload: workload, heal: first.rec.Kube.Heal}
		t.envs[key] = e
	}
	if e != nil {
		workload = e.workload
		es.Drift = slices.Clone(e.drift)
	}
	t.mu.Unlock()
	if workload == "" {
		return nil
	}
	if sp, _ := s.split(key, workload); sp != nil {
		es.Split = *sp
	}
	if len(copies) == 0 && es.Split.Stable == "" {
		return nil
	}
	var stable *release
	if es.Split.Stable != "" {
		stable, _ = s.release(key, es.Split.Stable)
	}
	if stable == nil {
		stable = first
	}
	if stable != nil {
		k := stable.rec.Kube
		switch {
		case k.Route.Name != "":
			es.Address = "httproute/" + s.ns + "/" + k.Route.Name
		case k.Service.Name != "":
			es.Address = "service/" + s.ns + "/" + k.Service.Name
		default:
			es.Address = "deployment/" + s.ns + "/" + k.Workload.Name
		}
	}
	return es
}

// releaseStatus is a release's health from its Deployment copy's status and its pods.
//
// Healthy means ready for traffic: the Deployment observed its newest generation, all its replicas are
// updated and available, and, when the release has a copy of the Service, as many of its endpoints are
// ready (so a route to it reaches pods at once). A copy scaled to zero is healthy only when ferry scaled it
// (a canary without a route, before its first step).
func (s *space) releaseStatus(key store.EnvKey, d *appsv1.Deployment, r *release) deploy.ReleaseStatus {
	id := d.Labels[LabelRelease]
	rs := deploy.ReleaseStatus{ID: id}
	l := envLabels(key)
	l[LabelRelease] = id
	pods, _ := s.pods.Pods(s.ns).List(labels.SelectorFromSet(l))
	slices.SortFunc(pods, func(a, b *corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	var podReason string
	for _, p := range pods {
		in, reason, failed := instance(p)
		rs.Instances = append(rs.Instances, in)
		rs.Restarts += in.Restarts
		if reason != "" && (podReason == "" || failed && !rs.Failed) {
			podReason = reason
			rs.Failed = rs.Failed || failed
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	observed := st.ObservedGeneration >= d.Generation
	rs.Healthy = observed && st.UpdatedReplicas == want && st.AvailableReplicas >= want && st.Replicas == want
	if want == 0 && !replicaRatio(r) {
		rs.Healthy = false
		rs.Reason = fmt.Sprintf("deployment %s is scaled to 0 replicas", d.Name)
		return rs
	}
	endpoints := -1
	if svc := r.rec.Kube.Service.Name; rs.Healthy && svc != "" {
		if endpoints = s.readyEndpoints(copyName(svc, id)); endpoints < int(want) {
			rs.Healthy = false
		}
	}
	if rs.Healthy {
		rs.Failed = false
		return rs
	}
	for _, c := range st.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded":
			rs.Failed = true
			rs.Reason = fmt.Sprintf("deployment %s: %s: %s", d.Name, c.Reason, c.Message)
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			rs.Failed = true // a quota, a policy: the ReplicaSet cannot create pods
			rs.Reason = fmt.Sprintf("deployment %s: %s: %s", d.Name, c.Reason, c.Message)
		}
	}
	if rs.Reason != "" {
		if podReason != "" {
			rs.Reason += "; " + podReason
		}
		return rs
	}
	switch {
	case podReason != "":
		rs.Reason = podReason
	case endpoints >= 0:
		rs.Reason = fmt.Sprintf("service %s: %d of %d endpoints ready", copyName(r.rec.Kube.Service.Name, id), endpoints, want)
	case !observed:
		rs.Reason = fmt.Sprintf("deployment %s: generation %d not observed yet", d.Name, d.Generation)
	default:
		rs.Reason = fmt.Sprintf("deployment %s: %d of %d replicas available, %d updated", d.Name, st.AvailableReplicas, want, st.UpdatedReplicas)
	}
	return rs
}

// failedWaiting are the reasons a container waits for that will not go away by themselves.
var failedWaiting = []string{"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull",
	"CreateContainerConfigError", "CreateContainerError"}

// instance is a pod as an instance, with the reason it is not ready (the cluster's) and whether that reason
// is final.
func instance(p *corev1.Pod) (in deploy.Instance, reason string, failed bool) {
	in = deploy.Instance{Name: p.Name, State: deploy.InstanceStarting, Since: p.CreationTimestamp.Time}
	ready := false
	for _, c := range p.Status.Conditions {
		switch {
		case c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue:
			ready = true
			in.Since = c.LastTransitionTime.Time
		case c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse:
			reason = fmt.Sprintf("pod %s: %s: %s", p.Name, c.Reason, c.Message)
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		in.Restarts += int(cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil {
			in.LastExit = fmt.Sprintf("%s (exit code %d)", t.Reason, t.ExitCode)
		}
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" {
			reason = fmt.Sprintf("pod %s: container %s: %s", p.Name, cs.Name, w.Reason)
			if w.Message != "" {
				reason += ": " + w.Message
			}
			failed = slices.Contains(failedWaiting, w.Reason)
			if w.Reason == "CrashLoopBackOff" {
				in.State = deploy.InstanceExited
			}
		}
	}
	switch {
	case p.DeletionTimestamp != nil:
		in.State = deploy.InstanceStopped
	case ready:
		in.State = deploy.InstanceHealthy
	}
	return in, reason, failed
}
