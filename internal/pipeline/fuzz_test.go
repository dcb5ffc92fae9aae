package pipeline

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\n",
		"version: 1\nstages: [{name: a, steps: [{<<: &d {name: b, run: c}}, {<<: [*d], name: e}]}]\n",
		"version: 1\nstages: &s [*s]\n",
		"version: 1\nstages:\n  - name: a\n    steps:\n      - name: b\n        run: c\n        gates: [{metric: m, max_increase: 10%}]\n---\n",
		"version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\nenvironments:\n" +
			"  - {name: s, service: {run: a, listen: 127.0.0.1:80}, strategy: {canary: {steps: [{weight: 5}]}}}\n" +
			"  - {name: p, after: s, service: {run: a, listen: '[::1]:80'}, analysis: {checks: [{metric: error_rate, max: 1%}]}}\n",
		"version: 1\nstages: [{name: a, steps: [{name: b, run: c, images: [r.io/shop]}]}]\nenvironments:\n" +
			"  - {name: s, target: kubernetes, kubernetes: {namespace: s, manifests: k8s, workload: deployment/w}}\n" +
			"  - {name: p, after: s, target: kubernetes, strategy: {canary: {steps: [{weight: 5}]}},\n" +
			"     kubernetes: {context: c, namespace: p, manifests: k8s/p, workload: deployment/w, service: service/w, route: httproute/w, port: http, heal: false},\n" +
			"     analysis: {checks: [{prometheus: {url: http://p:9090, query: 'x{v=\"{{ .Version }}\"}', max: 1}}]}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(FileName, data)
		if err != nil {
			var list ErrorList
			if p != nil || !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse = %v, %#v; want no pipeline and a non-empty ErrorList", p, err)
			}
			sorted := slices.IsSortedFunc(list, func(a, b *Error) int {
				if a.Line != b.Line {
					return a.Line - b.Line
				}
				return a.Col - b.Col
			})
			if !sorted {
				t.Fatalf("errors are not sorted:\n%v", err)
			}
			return
		}
		if p.Version != 1 || len(p.Stages) == 0 {
			t.Fatalf("valid pipeline with version %d and %d stages", p.Version, len(p.Stages))
		}
		for _, s := range p.Stages {
			if s.Name == "" || len(s.Steps) == 0 {
				t.Fatalf("valid pipeline with stage %+v", s)
			}
			for _, st := range s.Steps {
				if st.Name == "" || st.Run == "" {
					t.Fatalf("valid pipeline with step %+v", st)
				}
			}
		}
		for _, e := range p.Environments {
			checkEnvironment(t, p, e)
		}
		if len(p.Environments) > 0 && len(p.Roots()) == 0 {
			t.Fatalf("valid pipeline whose environments all come after another")
		}
	})
}

// checkEnvironment fails t unless e, an environment of the valid pipeline p, holds what Parse promises.
func checkEnvironment(t *testing.T, p *Pipeline, e Environment) {
	t.Helper()
	s := e.Service
	local := e.Target == TargetLocal
	switch {
	case e.Name == "" || !local && e.Target != TargetKubernetes || e.Bake < 0:
		t.Fatalf("valid pipeline with environment %+v", e)
	case local != (e.Kubernetes == nil):
		t.Fatalf("valid environment %q of target %s with kubernetes %+v", e.Name, e.Target, e.Kubernetes)
	case !local:
		checkKubernetes(t, e)
	case s.Run == "" || s.Listen == "" || s.Instances < 1 || s.Instances > maxInstances:
		t.Fatalf("valid environment %q with service %+v", e.Name, s)
	case !strings.HasPrefix(s.Health.Path, "/") || s.Health.Interval <= 0 || s.Health.Timeout <= 0:
		t.Fatalf("valid environment %q with health %+v", e.Name, s.Health)
	case (e.Strategy.Kind == Canary) != (len(e.Strategy.Steps) > 0) || strings.HasPrefix(e.Strategy.Kind.String(), "unknown"):
		t.Fatalf("valid environment %q with strategy %+v", e.Name, e.Strategy)
	}
	for _, o := range p.Environments {
		if local && o.Name != e.Name && o.Service.Listen == s.Listen && (len(s.Hosts) == 0 || len(o.Service.Hosts) == 0) {
			t.Fatalf("valid environments %q and %q both listen on %s", o.Name, e.Name, s.Listen)
		}
	}
	// Following "after" ends at a root within as many steps as there are environments.
	for cur, hops := &e, 0; cur.After != ""; hops++ {
		next := p.Environment(cur.After)
		if next == nil || hops > len(p.Environments) {
			t.Fatalf("valid environment %q: %q comes after %q, which is missing or in a cycle", e.Name, cur.Name, cur.After)
		}
		cur = next
	}
	prev := 0
	for _, st := range e.Strategy.Steps {
		if st.Weight <= prev || st.Weight > 100 || st.Pause < 0 {
			t.Fatalf("valid environment %q with canary steps %+v", e.Name, e.Strategy.Steps)
		}
		prev = st.Weight
	}
	a := e.Analysis
	if a.Interval < minAnalysisInterval || a.FailureLimit < 0 || a.FailureLimit > maxFailureLimit || a.MinRequests < 0 ||
		strings.HasPrefix(a.OnInconclusive.String(), "unknown") {
		t.Fatalf("valid environment %q with analysis %+v", e.Name, a)
	}
	for _, c := range a.Checks {
		kinds := 0
		for _, set := range []bool{c.Metric != "", c.HTTP != nil, c.Prometheus != nil} {
			if set {
				kinds++
			}
		}
		h, pc := c.HTTP, c.Prometheus
		switch {
		case kinds != 1,
			c.Metric != "" && c.Min == nil && c.Max == nil && c.MaxOverStable == nil,
			h != nil && (!strings.HasPrefix(h.Path, "/") || !slices.Contains(methods, h.Method) || h.ExpectStatus < 100 ||
				h.ExpectStatus > 599 || h.Every <= 0 || h.Timeout <= 0),
			pc != nil && (pc.URL == "" || pc.Query == "" || pc.Min == nil && pc.Max == nil),
			!local && c.Metric != "":
			t.Fatalf("valid environment %q with check %+v", e.Name, c)
		}
		if pc != nil && !local {
			if _, err := pc.Render(QueryVars{}); err != nil {
				t.Fatalf("valid environment %q with a query Render refuses: %v", e.Name, err)
			}
		}
	}
}

// checkKubernetes fails t unless the kubernetes block of e, a valid environment, holds what Parse promises.
func checkKubernetes(t *testing.T, e Environment) {
	t.Helper()
	k := e.Kubernetes
	switch {
	case !dnsLabel.MatchString(k.Namespace) || len(k.Namespace) > maxLabel,
		k.Manifests == "" || path.IsAbs(k.Manifests) || escapes(k.Manifests) || path.Clean(k.Manifests) != k.Manifests,
		k.Workload.Kind != KindDeployment || k.Workload.Name == "",
		k.Service != (ObjectRef{}) && (k.Service.Kind != KindService || k.Service.Name == ""),
		k.Route != (ObjectRef{}) && (k.Route.Kind != KindHTTPRoute || k.Route.Name == "" || k.Service == (ObjectRef{})),
		e.Strategy.Kind == BlueGreen && k.Service == (ObjectRef{}),
		k.Port != (ServicePort{}) && k.Service == (ObjectRef{}),
		k.Port.Number < 0 || k.Port.Number > 65535:
		t.Fatalf("valid environment %q with kubernetes %+v", e.Name, k)
	}
}
