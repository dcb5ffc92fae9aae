package k8stest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

// FieldManager is the server-side apply manager of objects Apply writes.
const FieldManager = "ferry-k8stest"

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// mapper maps kinds to resources through the API server's discovery, cached and refreshed when a kind is
// not found (a CRD installed since).
type mapper struct {
	once sync.Once
	m    *restmapper.DeferredDiscoveryRESTMapper
}

func (cp *ControlPlane) restMapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	cp.mapper.once.Do(func() {
		cp.mapper.m = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cp.Client.Discovery()))
	})
	m, err := cp.mapper.m.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		cp.mapper.m.Reset()
		m, err = cp.mapper.m.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return m, err
}

// Apply server-side applies every object of a YAML stream (documents separated by ---) as FieldManager,
// forcing conflicts. Namespaced objects without a namespace go to namespace. It returns the applied objects
// as the API server answered.
func (cp *ControlPlane) Apply(ctx context.Context, namespace string, yaml []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(yaml), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return out, fmt.Errorf("apply: decode: %w", err)
		}
		if len(obj) == 0 {
			continue // an empty document
		}
		u := &unstructured.Unstructured{Object: obj}
		applied, err := cp.applyOne(ctx, namespace, u)
		if err != nil {
			return out, err
		}
		out = append(out, applied)
	}
}

func (cp *ControlPlane) applyOne(ctx context.Context, namespace string, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvk := u.GroupVersionKind()
	what := fmt.Sprintf("%s %s", gvk.Kind, u.GetName())
	m, err := cp.restMapping(gvk)
	if err != nil {
		return nil, fmt.Errorf("apply %s: %w", what, err)
	}
	data, err := u.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("apply %s: %w", what, err)
	}
	res := cp.Dynamic.Resource(m.Resource)
	force := true
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := u.GetNamespace()
		if ns == "" {
			ns = namespace
		}
		applied, err := res.Namespace(ns).Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts)
		if err != nil {
			return nil, fmt.Errorf("apply %s in %s: %w", what, ns, err)
		}
		return applied, nil
	}
	applied, err := res.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts)
	if err != nil {
		return nil, fmt.Errorf("apply %s: %w", what, err)
	}
	return applied, nil
}

// installCRDs applies the Gateway API CRDs (and whatever else their files hold) and waits until each CRD is
// Established and its resources are in discovery, so a test can create a route at once.
func (cp *ControlPlane) installCRDs(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(cp.bins.CRDDir(), "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("install Gateway API CRDs: none in %s", cp.bins.CRDDir())
	}
	slices.Sort(files)
	var crds []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("install Gateway API CRDs: %w", err)
		}
		objs, err := cp.Apply(ctx, "", data)
		if err != nil {
			return fmt.Errorf("install Gateway API CRDs from %s: %w", filepath.Base(f), err)
		}
		for _, o := range objs {
			if o.GetKind() == "CustomResourceDefinition" {
				crds = append(crds, o.GetName())
			}
		}
	}
	for _, name := range crds {
		if err := cp.poll(ctx, "CRD "+name+" Established", func(ctx context.Context) (bool, error) {
			return cp.crdEstablished(ctx, name)
		}); err != nil {
			return err
		}
	}
	httpRoute := schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	return cp.poll(ctx, "HTTPRoute in discovery", func(context.Context) (bool, error) {
		_, err := cp.restMapping(httpRoute)
		return err == nil, err
	})
}

func (cp *ControlPlane) crdEstablished(ctx context.Context, name string) (bool, error) {
	crd, err := cp.Dynamic.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		c, _ := c.(map[string]any)
		if c["type"] == "Established" {
			return c["status"] == "True", fmt.Errorf("Established=%v: %v", c["status"], c["message"])
		}
	}
	return false, fmt.Errorf("not Established yet")
}
