package kubernetes

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// The labels ferry sets on everything it applies. Selection by LabelManagedBy is how ferry finds its own
// objects, and the only objects it ever changes or deletes; the others say whose they are.
const (
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	ManagedBy        = "ferry"
	LabelProject     = "ferry.dev/project"
	LabelEnvironment = "ferry.dev/environment"
	LabelRelease     = "ferry.dev/release"
	// LabelPart is what the object is to ferry: PartCopy (a release's copy of the workload, or of its
	// Service), PartShared (any other object of the manifests, the last routed release's), PartState.
	LabelPart  = "ferry.dev/part"
	PartCopy   = "copy"
	PartShared = "shared"
	PartState  = "state"

	// annotEnv holds the environment's exact key (labels cannot hold every name).
	annotEnv = "ferry.dev/env"
	// annotRelease, on a release's Deployment copy, holds what ferry needs to rebuild every object of the
	// release after a restart: its rendered manifests, images and Kubernetes settings.
	annotRelease = "ferry.dev/release"

	// FieldManager is ferry's server-side apply field manager.
	FieldManager = "ferry"
)

// releaseRecord is what a release's Deployment copy carries in annotRelease.
type releaseRecord struct {
	ID        string                     `json:"id"`
	Manifests string                     `json:"manifests"`
	Images    []string                   `json:"images,omitempty"`
	Kube      *pipeline.KubernetesTarget `json:"kubernetes"`
	Strategy  pipeline.StrategyKind      `json:"strategy"`
}

// release is one release of an environment as ferry builds its objects.
type release struct {
	key  store.EnvKey // set on a release remembered after its copy was deleted behind ferry's back
	rec  releaseRecord
	objs []*unstructured.Unstructured // the rendered manifests, untouched
}

var gvkDeployment = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
var gvkService = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
var gvkHTTPRoute = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
var gvkConfigMap = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

// ParseManifests reads a YAML (or JSON) stream of objects; empty documents are skipped and a List's items
// are read as objects.
func ParseManifests(data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for i := 1; ; i++ {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("manifests: document %d: %w", i, err)
		}
		if len(obj) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.IsList() {
			l, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("manifests: document %d: %w", i, err)
			}
			for j := range l.Items {
				out = append(out, &l.Items[j])
			}
			continue
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("manifests: document %d has no apiVersion, kind or metadata.name", i)
		}
		out = append(out, u)
	}
}

func newRelease(rec releaseRecord) (*release, error) {
	objs, err := ParseManifests([]byte(rec.Manifests))
	if err != nil {
		return nil, err
	}
	r := &release{rec: rec, objs: objs}
	if r.find(gvkDeployment, rec.Kube.Workload.Name) == nil {
		return nil, fmt.Errorf("the manifests hold no Deployment %q (the environment's workload)", rec.Kube.Workload.Name)
	}
	if s := rec.Kube.Service.Name; s != "" && r.find(gvkService, s) == nil {
		return nil, fmt.Errorf("the manifests hold no Service %q (the environment's service)", s)
	}
	if s := rec.Kube.Route.Name; s != "" && r.find(gvkHTTPRoute, s) == nil {
		return nil, fmt.Errorf("the manifests hold no HTTPRoute %q (the environment's route)", s)
	}
	return r, nil
}

func (r *release) find(gvk schema.GroupVersionKind, name string) *unstructured.Unstructured {
	for _, o := range r.objs {
		if o.GroupVersionKind().GroupKind() == gvk.GroupKind() && o.GetName() == name {
			return o
		}
	}
	return nil
}

// isMoved reports whether o is one of the objects the strategy moves (the workload, its Service, the
// route), which ferry builds itself rather than applying as declared.
func (r *release) isMoved(o *unstructured.Unstructured) bool {
	k := r.rec.Kube
	gk := o.GroupVersionKind().GroupKind()
	return (gk == gvkDeployment.GroupKind() && o.GetName() == k.Workload.Name) ||
		(gk == gvkService.GroupKind() && o.GetName() == k.Service.Name) ||
		(gk == gvkHTTPRoute.GroupKind() && o.GetName() == k.Route.Name)
}

// copyName is the name of a release's copy of an object: the release suffix keeps releases apart.
func copyName(name, release string) string { return name + "-r" + release }

// labelValue is name when Kubernetes takes it as a label value, and a digest of it otherwise; the exact
// name is in annotEnv.
func labelValue(name string) string {
	if len(name) <= 63 && labelValueRE.MatchString(name) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "h-" + hex.EncodeToString(sum[:])[:20]
}

var labelValueRE = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

// envLabels are the labels of every object of an environment.
func envLabels(key store.EnvKey) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelProject: labelValue(key.Project), LabelEnvironment: labelValue(key.Env)}
}

// own sets ferry's labels and annotations on o.
func own(o *unstructured.Unstructured, key store.EnvKey, release, part string) {
	l := o.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	maps.Copy(l, envLabels(key))
	l[LabelRelease] = release
	l[LabelPart] = part
	o.SetLabels(l)
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[annotEnv] = key.String()
	o.SetAnnotations(a)
}

// cleanForApply drops what an apply must not send (what the server sets) from a copy of o.
func cleanForApply(o *unstructured.Unstructured) *unstructured.Unstructured {
	o = o.DeepCopy()
	for _, f := range []string{"resourceVersion", "uid", "generation", "creationTimestamp", "managedFields", "selfLink"} {
		unstructured.RemoveNestedField(o.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(o.Object, "status")
	return o
}

// deploymentCopy builds the release's copy of the workload: named with the release suffix, selecting and
// labelling its pods with the release, ferry's labels, the release's images by digest, and replicas.
func (r *release) deploymentCopy(key store.EnvKey, replicas *int32) (*unstructured.Unstructured, error) {
	id := r.rec.ID
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(r.find(gvkDeployment, r.rec.Kube.Workload.Name).Object, &d); err != nil {
		return nil, fmt.Errorf("workload %s: %w", r.rec.Kube.Workload, err)
	}
	d.Name = copyName(d.Name, id)
	if d.Spec.Selector == nil {
		return nil, fmt.Errorf("workload %s has no selector", r.rec.Kube.Workload)
	}
	sel := maps.Clone(d.Spec.Selector.MatchLabels)
	if sel == nil {
		sel = map[string]string{}
	}
	sel[LabelRelease] = id
	d.Spec.Selector.MatchLabels = sel
	tl := maps.Clone(d.Spec.Template.Labels)
	if tl == nil {
		tl = map[string]string{}
	}
	maps.Copy(tl, envLabels(key))
	tl[LabelRelease] = id
	tl[LabelPart] = PartCopy
	d.Spec.Template.Labels = tl
	if replicas != nil {
		d.Spec.Replicas = replicas
	}
	setImages(d.Spec.Template.Spec.Containers, r.rec.Images)
	setImages(d.Spec.Template.Spec.InitContainers, r.rec.Images)
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&d)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w", r.rec.Kube.Workload, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(gvkDeployment)
	u = cleanForApply(u)
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	own(u, key, id, PartCopy)
	rec, err := json.Marshal(r.rec)
	if err != nil {
		return nil, err
	}
	a := u.GetAnnotations()
	a[annotRelease] = string(rec)
	u.SetAnnotations(a)
	return u, nil
}

// declaredReplicas is the workload's replicas as the manifests say (1 when they do not).
func (r *release) declaredReplicas() int32 {
	// Decoded from YAML through JSON, a number is a float64; from the API server, an int64.
	v, ok, _ := unstructured.NestedFieldNoCopy(r.find(gvkDeployment, r.rec.Kube.Workload.Name).Object, "spec", "replicas")
	if !ok {
		return 1
	}
	switch n := v.(type) {
	case int64:
		return int32(n)
	case float64:
		return int32(n)
	}
	return 1
}

// podSelector is the workload's own selector, as the manifests declare it.
func (r *release) podSelector() map[string]string {
	m, _, _ := unstructured.NestedStringMap(r.find(gvkDeployment, r.rec.Kube.Workload.Name).Object, "spec", "selector", "matchLabels")
	return m
}

// service builds the environment's Service (name as declared) or the release's copy of it (copy set),
// selecting the workload's pods of the release release ("" for every release's).
func (r *release) service(key store.EnvKey, copy bool, selectRelease string) (*unstructured.Unstructured, error) {
	decl := r.find(gvkService, r.rec.Kube.Service.Name)
	var s corev1.Service
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(decl.Object, &s); err != nil {
		return nil, fmt.Errorf("service %s: %w", r.rec.Kube.Service, err)
	}
	sel := maps.Clone(s.Spec.Selector)
	if sel == nil {
		sel = r.podSelector()
	}
	if selectRelease != "" {
		sel[LabelRelease] = selectRelease
	}
	s.Spec.Selector = sel
	part := PartShared
	if copy {
		// A copy is for the release's own traffic (the route's canary backend, previews, checks): inside the
		// cluster only, whatever the declared one exposes.
		s.Name = copyName(s.Name, r.rec.ID)
		s.Spec.Type = corev1.ServiceTypeClusterIP
		s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.LoadBalancerIP, s.Spec.ExternalName = "", nil, "", ""
		for i := range s.Spec.Ports {
			s.Spec.Ports[i].NodePort = 0
		}
		part = PartCopy
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&s)
	if err != nil {
		return nil, err
	}
	u := cleanForApply(&unstructured.Unstructured{Object: obj})
	u.SetGroupVersionKind(gvkService)
	own(u, key, r.rec.ID, part)
	return u, nil
}

// route builds the environment's HTTPRoute: every backend that is the environment's Service is replaced by
// the stable release's copy of it and, with a canary, the canary's copy, weighted. probe is the release
// that gets header rules (canaryRule) for its http checks: the canary, or a blue_green release not switched
// to yet; "" for none.
func (r *release) route(key store.EnvKey, canary string, weight int, probe string) *unstructured.Unstructured {
	u := cleanForApply(r.find(gvkHTTPRoute, r.rec.Kube.Route.Name))
	svc := r.rec.Kube.Service.Name
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	var probes []any
	for i, rule := range rules {
		rm, ok := rule.(map[string]any)
		if !ok {
			continue
		}
		refs, _ := rm["backendRefs"].([]any)
		var out []any
		for _, ref := range refs {
			m, ok := ref.(map[string]any)
			kind, _ := m["kind"].(string)
			if !ok || m["name"] != svc || (kind != "" && kind != "Service") {
				out = append(out, ref)
				continue
			}
			stable := maps.Clone(m)
			stable["name"] = copyName(svc, r.rec.ID)
			stable["weight"] = int64(100 - weight)
			out = append(out, stable)
			if canary != "" {
				c := maps.Clone(m)
				c["name"] = copyName(svc, canary)
				c["weight"] = int64(weight)
				out = append(out, c)
			}
		}
		if pr := canaryRule(rm, svc, probe); probe != "" && pr != nil {
			probes = append(probes, pr)
		}
		rm["backendRefs"] = out
		rules[i] = rm
	}
	// After the declared rules, so that the first rule stays the one users' traffic takes; a Gateway picks a
	// header rule over them by its extra header match, whatever the order.
	rules = append(rules, probes...)
	_ = unstructured.SetNestedSlice(u.Object, rules, "spec", "rules")
	own(u, key, r.rec.ID, PartShared)
	return u
}

// shared are the release's other objects (ConfigMaps, Secrets, ...), applied as declared with ferry's labels.
func (r *release) shared(key store.EnvKey) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range r.objs {
		if r.isMoved(o) {
			continue
		}
		c := cleanForApply(o)
		own(c, key, r.rec.ID, PartShared)
		out = append(out, c)
	}
	return out
}

// setImages pins every container whose image is of one of images' repositories (whatever its tag) to the
// image's digest.
func setImages(cs []corev1.Container, images []string) {
	for i := range cs {
		repo := imageRepository(cs[i].Image)
		for _, img := range images {
			if imageRepository(img) == repo {
				cs[i].Image = img
			}
		}
	}
}

// imageRepository is an image reference without its tag and digest.
func imageRepository(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		ref = ref[:colon]
	}
	return ref
}
