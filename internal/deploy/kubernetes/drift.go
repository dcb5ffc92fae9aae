package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/store"
)

// maxDrift bounds the drift an environment remembers: the newest are kept.
const maxDrift = 20

// changed is called by the informers for every object with ferry's labels that was added, changed or
// deleted. A change is drift when another field manager owns a field of the object's spec (or a
// ConfigMap's data) that is not status: server-side apply moves a field's ownership to whoever changed it
// last (kubectl edit, kubectl scale, a controller), and ferry's own applies take it back. A deletion is
// drift unless ferry deleted the object.
func (t *Target) changed(s *space, obj any, deleted bool) {
	o, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	key, err := store.ParseEnvKey(o.GetAnnotations()[annotEnv])
	if err != nil {
		return
	}
	kind := kindOf(obj)
	release := o.GetLabels()[LabelRelease]
	var what string
	if deleted {
		if s.deletedByFerry(kind, o.GetName()) {
			// A drifted object ferry took out (the copy of a release it replaced) has drifted no more: with
			// heal: false this is how an open drift ends.
			t.settle(key, kind, o.GetName())
			return
		}
		what = fmt.Sprintf("%s %s was deleted behind ferry's back", strings.ToLower(kind), o.GetName())
		if d, ok := obj.(*appsv1.Deployment); ok && o.GetLabels()[LabelPart] == PartCopy {
			// Remember the release, whose record went with its copy, to re-apply it.
			if r, err := s.parse(d); err == nil {
				lost := *r
				lost.key = key
				s.mu.Lock()
				s.lost[d.Name] = &lost
				s.mu.Unlock()
			}
		}
	} else {
		who := foreignManagers(o.GetManagedFields())
		if len(who) == 0 {
			t.settle(key, kind, o.GetName())
			return
		}
		what = fmt.Sprintf("%s %s was changed behind ferry's back by %s", strings.ToLower(kind), o.GetName(), strings.Join(who, ", "))
	}
	t.mu.Lock()
	e := t.envs[key]
	if e == nil {
		e = &envRecord{key: key, space: s, heal: true}
		t.envs[key] = e
	}
	// One open report per object: a second edit of it before the heal adds nothing new.
	prefix := strings.ToLower(kind) + " " + o.GetName() + " "
	open := slices.ContainsFunc(e.drift, func(d deploy.Drift) bool { return !d.Healed && strings.HasPrefix(d.What, prefix) })
	if !open {
		e.drift = append(e.drift, deploy.Drift{Release: release, What: what, Since: time.Now()})
		if len(e.drift) > maxDrift {
			e.drift = slices.Delete(e.drift, 0, len(e.drift)-maxDrift)
		}
		t.log.Warn("kubernetes: drift", "env", key.String(), "release", release, "what", what)
	}
	heal := e.heal && !e.healing && e.workload != ""
	if heal {
		e.healing = true
	} else if e.healing {
		e.again = true // the heal under way may have passed this object: it goes round once more
	}
	t.mu.Unlock()
	if heal {
		go t.heal(e)
	}
}

// settle marks an object's open drift healed once it is back as ferry applied it.
func (t *Target) settle(key store.EnvKey, kind, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.envs[key]
	if e == nil {
		return
	}
	prefix := strings.ToLower(kind) + " " + name + " "
	for i := range e.drift {
		if !e.drift[i].Healed && strings.HasPrefix(e.drift[i].What, prefix) {
			e.drift[i].Healed = true
		}
	}
}

// heal re-applies the environment's releases and its route as ferry last applied them, and tries again
// until that works. A drift is marked healed when the informers see the object back as ferry applied it.
func (t *Target) heal(e *envRecord) {
	for attempt := 0; ; attempt++ {
		select {
		case <-t.closed:
			return
		default:
		}
		t.mu.Lock()
		e.again = false
		t.mu.Unlock()
		err := t.reconcile(context.Background(), e)
		t.mu.Lock()
		if err == nil && e.again {
			t.mu.Unlock()
			continue
		}
		if err == nil {
			e.healing = false
			t.mu.Unlock()
			t.log.Info("kubernetes: drift healed", "env", e.key.String())
			return
		}
		t.mu.Unlock()
		t.log.Warn("kubernetes: heal drift", "env", e.key.String(), "err", err)
		time.Sleep(min(time.Duration(attempt+1)*time.Second, 10*time.Second))
	}
}

// reconcile applies the environment's releases and its route again. A release whose copy was deleted is
// put back only when the split names it: an unrouted one may have been stopped by another ferry, and the
// rollout controller prepares again what it still needs.
func (t *Target) reconcile(ctx context.Context, e *envRecord) error {
	s := e.space
	split, _ := s.split(e.key, e.workload)
	for _, r := range s.releases(e.key) {
		named := split != nil && (split.Stable == r.rec.ID || split.Canary == r.rec.ID)
		if r.key != (store.EnvKey{}) && !named {
			continue
		}
		if err := t.applyRelease(ctx, e, r); err != nil {
			return err
		}
	}
	if split == nil || split.Stable == "" {
		return nil
	}
	if err := t.route(ctx, e, *split); err != nil {
		return err
	}
	s.mu.Lock()
	clear(s.lost)
	s.mu.Unlock()
	return nil
}

// foreignManagers are the managers other than ferry that own a field of the spec (or data) outside the
// status subresource.
func foreignManagers(fields []metav1.ManagedFieldsEntry) []string {
	var out []string
	for _, f := range fields {
		if f.Manager == FieldManager || f.Subresource == "status" || f.FieldsV1 == nil {
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(f.FieldsV1.Raw, &m) != nil {
			continue
		}
		var paths []string
		for _, top := range []string{"f:spec", "f:data"} {
			var sub map[string]json.RawMessage
			if json.Unmarshal(m[top], &sub) != nil {
				continue
			}
			for k := range sub {
				if k != "." {
					paths = append(paths, strings.TrimPrefix(top, "f:")+"."+strings.TrimPrefix(k, "f:"))
				}
			}
		}
		if len(paths) > 0 {
			slices.Sort(paths)
			out = append(out, fmt.Sprintf("%s (%s)", f.Manager, strings.Join(paths, ", ")))
		}
	}
	return out
}

func kindOf(obj any) string {
	if ro, ok := obj.(runtime.Object); ok {
		if k := ro.GetObjectKind().GroupVersionKind().Kind; k != "" {
			return k
		}
	}
	switch obj.(type) {
	case *appsv1.Deployment:
		return "Deployment"
	case *corev1.Service:
		return "Service"
	case *corev1.ConfigMap:
		return "ConfigMap"
	}
	return "object"
}
