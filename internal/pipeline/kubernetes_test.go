package pipeline

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseKubernetes(t *testing.T) {
	data, err := os.ReadFile("testdata/kubernetes.ferry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(FileName, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := p.Stages[0].Steps[0].Images; !reflect.DeepEqual(got, []string{"registry.example.com/shop"}) {
		t.Errorf("Images = %q, want [registry.example.com/shop]", got)
	}
	shop := ObjectRef{Kind: KindDeployment, Name: "shop"}
	query := `sum(rate(http_requests_total{namespace="{{ .Namespace }}", version="{{ .Version }}", code=~"5.."}[{{ .Interval }}]))` +
		"\n" + `/ sum(rate(http_requests_total{namespace="{{ .Namespace }}", version="{{ .Version }}"}[{{ .Interval }}]))` + "\n"
	want := []Environment{{
		Name:   "staging",
		Target: TargetKubernetes,
		Kubernetes: &KubernetesTarget{Namespace: "shop-staging", Manifests: "deploy/k8s/overlays/staging", Workload: shop,
			Heal: true},
		Analysis: defaultAnalysis,
		Pos:      Pos{10, 5},
	}, {
		Name:       "production",
		After:      "staging",
		Production: true,
		Target:     TargetKubernetes,
		Kubernetes: &KubernetesTarget{
			Context:   "prod",
			Namespace: "shop",
			Manifests: "deploy/k8s/overlays/production",
			Workload:  shop,
			Service:   ObjectRef{Kind: KindService, Name: "shop"},
			Route:     ObjectRef{Kind: KindHTTPRoute, Name: "shop"},
			Port:      ServicePort{Name: "http"},
		},
		Strategy: Strategy{Kind: Canary, Steps: []CanaryStep{{Weight: 10, Pause: time.Minute}, {Weight: 50, Pause: time.Minute}}},
		Analysis: Analysis{Interval: 10 * time.Second, MinRequests: 20, Checks: []Check{
			{Prometheus: &PrometheusCheck{URL: "http://prometheus.monitoring:9090", Query: query, Max: new(0.01)}, Pos: Pos{36, 11}},
			{HTTP: &HTTPCheck{URL: "https://shop.example.com", Path: "/healthz", Method: "GET", ExpectStatus: 200, Every: 10 * time.Second, Timeout: 2 * time.Second},
				Pos: Pos{42, 11}},
		}},
		Pos: Pos{17, 5},
	}, {
		Name:   "preview",
		Target: TargetKubernetes,
		Kubernetes: &KubernetesTarget{Namespace: "shop-preview", Manifests: "deploy/k8s/base", Workload: shop,
			Service: ObjectRef{Kind: KindService, Name: "shop"}, Port: ServicePort{Number: 8080}, Heal: true},
		Strategy: Strategy{Kind: BlueGreen},
		Analysis: defaultAnalysis,
		Pos:      Pos{43, 5},
	}}
	if !reflect.DeepEqual(p.Environments, want) {
		t.Errorf("Environments:\n got %+v\nwant %+v", p.Environments, want)
		for i := range min(len(want), len(p.Environments)) {
			t.Logf("%s: got %+v\nwant %+v", want[i].Name, p.Environments[i].Kubernetes, want[i].Kubernetes)
		}
	}
}

func TestKubernetesErrors(t *testing.T) {
	// envs wraps lines of the environments list, written at its indentation; they start at line 4, column 3.
	envs := func(lines ...string) string {
		return "version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\nenvironments:\n  " +
			strings.Join(lines, "\n  ") + "\n"
	}
	// kube wraps further lines of an environment "web" of target kubernetes; they start at line 6, column 5.
	kube := func(lines ...string) string {
		for i := range lines {
			lines[i] = "  " + lines[i]
		}
		return envs(append([]string{"- name: web", "  target: kubernetes"}, lines...)...)
	}
	// block is the kubernetes block of "web", on line 6 from column 17, and then further lines.
	block := func(b string, more ...string) string { return kube(append([]string{"kubernetes: " + b}, more...)...) }
	// with is a valid block with more keys; the first of them is at line 6, column 78.
	with := func(keys string, more ...string) string {
		return block("{namespace: shop, manifests: k8s, workload: deployment/shop, "+keys+"}", more...)
	}
	// query is a prometheus check of "web"; its query starts at line 9, column 59.
	query := func(q string) string {
		return block("{namespace: shop, manifests: k8s, workload: deployment/shop}", "analysis:", "  checks:",
			"    - prometheus: {url: http://p:9090, max: 1, query: '"+q+"'}")
	}
	const queryVars = "the query variables are .Version, .StableVersion, .Namespace, .Environment, .Project, .Workload and .Interval"
	tests := []struct {
		name string
		in   string
		want []string
	}{
		// The target and its block.
		{"service on kubernetes", block("{namespace: shop, manifests: k8s, workload: deployment/shop}", "service: {run: a, listen: 127.0.0.1:80}"), []string{
			`.ferry.yaml:7:5: "service" is the app the local target runs, and environment "web" has target kubernetes, where the manifests say what runs; remove "service"`}},
		{"service of kubernetes misplaced", block("{namespace: shop, manifests: k8s, workload: deployment/shop}", "service: service/shop"), []string{
			`.ferry.yaml:7:5: "service" is the app the local target runs, and environment "web" has target kubernetes, where the manifests say what runs; remove "service" (the Service in front of the workload goes in "kubernetes", like service: service/shop)`}},
		{"kubernetes without its block", kube(), []string{
			`.ferry.yaml:4:5: environment "web" has target kubernetes but no "kubernetes"; add where the release goes, like kubernetes: {namespace: shop, manifests: deploy/k8s, workload: deployment/shop}`}},
		{"kubernetes block on the default target", envs("- name: web", "  service: {run: a, listen: 127.0.0.1:80}", "  kubernetes: {namespace: shop}"), []string{
			`.ferry.yaml:6:5: environment "web" has "kubernetes" but target local (the default); add target: kubernetes, or remove "kubernetes"`}},
		{"kubernetes block on target local", envs("- name: web", "  target: local", "  kubernetes: {namespace: shop}"), []string{
			`.ferry.yaml:6:5: environment "web" has "kubernetes" but target local; add target: kubernetes, or remove "kubernetes"`}},
		{"target misspelt, block checked", envs("- name: web", "  target: kubernets", "  kubernetes: {namespace: Shop}"), []string{
			`.ferry.yaml:5:13: "target" must be local or kubernetes, not "kubernets" (did you mean "kubernetes"?)`,
			`.ferry.yaml:6:17: kubernetes has no "manifests"; add the folder of the manifests in the repository, like manifests: deploy/k8s`,
			`.ferry.yaml:6:17: kubernetes has no "workload"; add the Deployment whose versions the strategy moves, like workload: deployment/shop`,
			`.ferry.yaml:6:29: invalid "namespace" "Shop": use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit (did you mean "shop"?)`}},
		{"block empty", block("{}"), []string{
			`.ferry.yaml:6:17: kubernetes has no "namespace"; add the namespace the release goes to, like namespace: shop`,
			`.ferry.yaml:6:17: kubernetes has no "manifests"; add the folder of the manifests in the repository, like manifests: deploy/k8s`,
			`.ferry.yaml:6:17: kubernetes has no "workload"; add the Deployment whose versions the strategy moves, like workload: deployment/shop`}},
		{"block not a mapping", block("deploy/k8s"), []string{`.ferry.yaml:6:17: "kubernetes" must be a mapping, not "deploy/k8s"`}},
		{"unknown key", with("servce: service/shop"), []string{
			`.ferry.yaml:6:78: unknown key "servce" in kubernetes (did you mean "service"?)`}},

		// context and namespace.
		{"context empty", with("context: ''"), []string{
			`.ferry.yaml:6:87: "context" is empty; name a context of ferry serve's kubeconfig, or remove it to use the current one`}},
		{"context with spaces", with("context: ' prod'"), []string{
			`.ferry.yaml:6:87: "context" " prod" has spaces around it or control characters; write the name as kubectl config get-contexts shows it`}},
		{"namespace with an underscore", block("{namespace: shop_1, manifests: k8s, workload: deployment/shop}"), []string{
			`.ferry.yaml:6:29: invalid "namespace" "shop_1": use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit`}},
		{"namespace too long", block("{namespace: " + strings.Repeat("a", 64) + ", manifests: k8s, workload: deployment/shop}"), []string{
			`.ferry.yaml:6:29: invalid "namespace" "` + strings.Repeat("a", 64) + `": use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit`}},
		{"namespace empty", block("{namespace: '', manifests: k8s, workload: deployment/shop}"), []string{
			`.ferry.yaml:6:29: "namespace" is empty; name the namespace the release goes to, like shop`}},

		// manifests.
		{"manifests absolute", block("{namespace: shop, manifests: /srv/k8s, workload: deployment/shop}"), []string{
			`.ferry.yaml:6:46: "manifests" "/srv/k8s" is an absolute path; give a path inside the repository, like deploy/k8s`}},
		{"manifests escape", block("{namespace: shop, manifests: deploy/../../etc, workload: deployment/shop}"), []string{
			`.ferry.yaml:6:46: "manifests" "deploy/../../etc" has a ".." element; give a path inside the repository, like deploy/k8s`}},
		{"manifests with a backslash", block(`{namespace: shop, manifests: 'deploy\k8s', workload: deployment/shop}`), []string{
			`.ferry.yaml:6:46: "manifests" "deploy\\k8s" has a "\"; separate folders with "/", like deploy/k8s`}},
		{"manifests blank", block("{namespace: shop, manifests: ' ', workload: deployment/shop}"), []string{
			`.ferry.yaml:6:46: "manifests" is empty; give the folder of the manifests in the repository, like deploy/k8s`}},
		{"manifests a list", block("{namespace: shop, manifests: [a, b], workload: deployment/shop}"), []string{
			`.ferry.yaml:6:46: "manifests" must be a string, not a list`}},

		// Objects.
		{"workload without kind", block("{namespace: shop, manifests: k8s, workload: shop}"), []string{
			`.ferry.yaml:6:61: "workload" "shop" has no kind; write deployment/shop`}},
		{"workload kind capitalised", block("{namespace: shop, manifests: k8s, workload: Deployment/shop}"), []string{
			`.ferry.yaml:6:61: "workload" "Deployment/shop": write the kind as deployment, like deployment/shop`}},
		{"workload kind abbreviated", block("{namespace: shop, manifests: k8s, workload: deploy/shop}"), []string{
			`.ferry.yaml:6:61: "workload" "deploy/shop": write the kind as deployment, like deployment/shop`}},
		{"workload of another kind", block("{namespace: shop, manifests: k8s, workload: statefulset/db}"), []string{
			`.ferry.yaml:6:61: "workload" "statefulset/db" names a statefulset; the workload is a Deployment: write deployment/NAME`}},
		{"workload without name", block("{namespace: shop, manifests: k8s, workload: deployment/}"), []string{
			`.ferry.yaml:6:61: "workload" "deployment/" has no name; write deployment/shop`}},
		{"workload name capitalised", block("{namespace: shop, manifests: k8s, workload: deployment/Shop}"), []string{
			`.ferry.yaml:6:61: invalid deployment name "Shop": use at most 253 lower-case letters, digits, "-" and ".", each part between dots starting and ending with a letter or digit (did you mean "shop"?)`}},
		{"workload name with an underscore", block("{namespace: shop, manifests: k8s, workload: deployment/shop_v2}"), []string{
			`.ferry.yaml:6:61: invalid deployment name "shop_v2": use at most 253 lower-case letters, digits, "-" and ".", each part between dots starting and ending with a letter or digit`}},
		{"kinds spelt as kubectl does", with("service: svc/shop, route: HTTPRoute/shop"), []string{
			`.ferry.yaml:6:87: "service" "svc/shop": write the kind as service, like service/shop`,
			`.ferry.yaml:6:104: "route" "HTTPRoute/shop": write the kind as httproute, like httproute/shop`}},
		{"service and route names", with("service: service/1shop, route: httproute/a/b"), []string{
			`.ferry.yaml:6:87: invalid service name "1shop": use at most 63 lower-case letters, digits and "-", starting with a letter and ending with a letter or digit`,
			`.ferry.yaml:6:109: invalid httproute name "a/b": use at most 253 lower-case letters, digits, "-" and ".", each part between dots starting and ending with a letter or digit`}},
		{"service of another kind", with("service: deployment/shop"), []string{
			`.ferry.yaml:6:87: "service" "deployment/shop" names a deployment; the service is a Service: write service/NAME`}},

		// What the strategy needs.
		{"route without service", with("route: httproute/shop"), []string{
			`.ferry.yaml:6:85: "route" needs "service": the Service the route sends traffic to, which ferry copies for the canary; add it, like service: service/shop`}},
		{"blue_green without service", block("{namespace: shop, manifests: k8s, workload: deployment/shop}", "strategy: blue_green"), []string{
			`.ferry.yaml:6:17: kubernetes has no "service"; strategy blue_green switches the selector of the Service in front of the workload: add it, like service: service/shop`}},

		// port and heal.
		{"port without service", with("port: 80"), []string{
			`.ferry.yaml:6:78: "port" is a port of "service", and environment "web" names no service; add service, or remove "port"`}},
		{"port zero", with("service: service/shop, port: 0"), []string{
			`.ferry.yaml:6:107: "port" must be a whole number from 1 to 65535, not 0`}},
		{"port name capitalised", with("service: service/shop, port: HTTP"), []string{
			`.ferry.yaml:6:107: "port" "HTTP" is neither a number from 1 to 65535 nor a port name (at most 15 lower-case letters, digits and single "-", with a letter, like http)`}},
		{"port quoted", with("service: service/shop, port: '8080'"), []string{
			`.ferry.yaml:6:107: "port" "8080" is neither a number from 1 to 65535 nor a port name (at most 15 lower-case letters, digits and single "-", with a letter, like http)`}},
		{"heal not a boolean", with("heal: yes"), []string{`.ferry.yaml:6:84: "heal" must be true or false, not "yes"`}},

		// Analysis.
		{"metric check", block("{namespace: shop, manifests: k8s, workload: deployment/shop}", "analysis: {checks: [{metric: error_rate, max: 1%}]}"), []string{
			`.ferry.yaml:7:26: metric checks are measured by ferry's proxy, which target kubernetes does not have; use a prometheus check instead, like prometheus: {url: ..., query: '...{version="{{ .Version }}"}...', max: 0.01}`}},
		{"query syntax", query(`x{v="{{ .Version }"}`), []string{
			`.ferry.yaml:9:59: invalid "query" template: unexpected "}" in operand; write variables like {{ .Version }}`}},
		{"query variable misspelt", query(`x{v="{{ .version }}"}`), []string{
			`.ferry.yaml:9:59: "query" uses .version, which is not a query variable (did you mean .Version?); ` + queryVars}},
		{"query variable unknown", query(`x{v="{{ .Release }}"}`), []string{
			`.ferry.yaml:9:59: "query" uses .Release, which is not a query variable; ` + queryVars}},
		{"query variable through $", query(`x{v="{{ $.Verson }}"}`), []string{
			`.ferry.yaml:9:59: "query" uses $.Verson, which is not a query variable (did you mean $.Version?); ` + queryVars}},
		{"query variable in an if", query(`{{ if .StableVersion }}{{ .Foo }}{{ end }}`), []string{
			`.ferry.yaml:9:59: "query" uses .Foo, which is not a query variable; ` + queryVars}},
		{"query variable in a pipe", query(`{{ .Version | printf "%s" | .Bad }}`), []string{
			`.ferry.yaml:9:59: "query" uses .Bad, which is not a query variable; ` + queryVars}},
		{"query field of a variable", query(`x{v="{{ .Version.Major }}"}`), []string{
			`.ferry.yaml:9:59: "query" uses .Version.Major; .Version is a string, with no fields`}},
		{"query field of a template variable", query(`{{ $v := .Version }}{{ $v.X }}`), []string{
			`.ferry.yaml:9:59: "query" uses $v.X; the query variables are strings, with no fields`}},
		{"query field of a chain", query(`{{ (.Version).X }}`), []string{
			`.ferry.yaml:9:59: "query" uses (.Version).X; the query variables are strings, with no fields`}},
		{"query with", query(`{{ with .Version }}{{ . }}{{ end }}`), []string{
			`.ferry.yaml:9:59: "query" uses {{ with }}; a query may only use variables like {{ .Version }}, pipes and if`}},
		{"query range", query(`{{ range .Version }}{{ end }}`), []string{
			`.ferry.yaml:9:59: "query" uses {{ range }}; a query may only use variables like {{ .Version }}, pipes and if`}},
		{"query template", query(`{{ template "x" }}`), []string{
			`.ferry.yaml:9:59: "query" uses {{ template }}; a query may only use variables like {{ .Version }}, pipes and if`}},
		{"query define", query(`{{ define "x" }}a{{ end }}x`), []string{
			`.ferry.yaml:9:59: "query" defines templates; a query may only use variables like {{ .Version }}, pipes and if`}},
		{"query syntax on a later line", block("{namespace: shop, manifests: k8s, workload: deployment/shop}", "analysis:", "  checks:",
			"    - prometheus:", "        url: http://p:9090", "        max: 1", "        query: |", "          sum(x)", "          / {{ .Version"), []string{
			`.ferry.yaml:12:20: invalid "query" template: line 3 of the query: unclosed action started at line 2; write variables like {{ .Version }}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(FileName, []byte(tt.in))
			if p != nil {
				t.Errorf("Parse returned a pipeline with errors: %+v", p)
			}
			if got, want := errString(err), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Parse errors:\n got: %s\nwant: %s", strings.ReplaceAll(got, "\n", "\n      "), strings.ReplaceAll(want, "\n", "\n      "))
			}
		})
	}
}

// TestLocalQueriesAreVariantTemplates: a local environment's query knows the variant templates of flag
// rollouts, not a kubernetes environment's variables, and a broken template is an error either way.
func TestLocalQueriesAreVariantTemplates(t *testing.T) {
	_, err := Parse(FileName, []byte(`version: 1
stages: [{name: a, steps: [{name: b, run: c}]}]
environments:
  - name: web
    service: {run: a, listen: 127.0.0.1:80}
    analysis: {checks: [{prometheus: {url: http://p:9090, max: 1, query: 'x{v="{{ .Version }}"}'}}]}
`))
	if err == nil || !strings.Contains(err.Error(), "unknown variable .Version") {
		t.Errorf("Parse = %v, want the kubernetes variable refused on a local environment", err)
	}
}

func TestRenderQuery(t *testing.T) {
	vars := QueryVars{Project: "shop", Environment: "production", Namespace: "shop-prod", Workload: "shop", Version: "42",
		StableVersion: "41", Interval: "10s"}
	tests := []struct {
		query string
		vars  QueryVars
		want  string
	}{
		{`sum(rate(errors{namespace="{{ .Namespace }}", version="{{ .Version }}"}[{{ .Interval }}]))`, vars,
			`sum(rate(errors{namespace="shop-prod", version="42"}[10s]))`},
		{`{{ .Project }}/{{ .Environment }}/{{ .Workload }} {{ $.StableVersion }}`, vars, `shop/production/shop 41`},
		{`x{{ if .StableVersion }} - y{version="{{ .StableVersion }}"}{{ end }}`, vars, `x - y{version="41"}`},
		{`x{{ if .StableVersion }} - y{version="{{ .StableVersion }}"}{{ end }}`, QueryVars{Version: "1"}, `x`},
		{`up`, vars, `up`},
	}
	for _, tt := range tests {
		// Each query is valid for Parse first: Render is for what Parse let through.
		in := "version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\nenvironments:\n" +
			"  - {name: web, target: kubernetes, kubernetes: {namespace: shop, manifests: k8s, workload: deployment/shop},\n" +
			"     analysis: {checks: [{prometheus: {url: http://p:9090, max: 1, query: " + fmt.Sprintf("%q", tt.query) + "}}]}}\n"
		p, err := Parse(FileName, []byte(in))
		if err != nil {
			t.Errorf("Parse %q: %v", tt.query, err)
			continue
		}
		got, err := p.Environments[0].Analysis.Checks[0].Prometheus.Render(tt.vars)
		if err != nil || got != tt.want {
			t.Errorf("Render(%q) = %q, %v; want %q", tt.query, got, err, tt.want)
		}
	}
	if _, err := (&PrometheusCheck{Query: "{{ .Nope }}"}).Render(vars); err == nil {
		t.Error("Render of an unknown variable: no error")
	}
	if _, err := (&PrometheusCheck{Query: "{{ .Version"}).Render(vars); err == nil {
		t.Error("Render of a broken template: no error")
	}
}

// TestQueryVarsListed keeps the variables Parse accepts and the fields of QueryVars the same.
func TestQueryVarsListed(t *testing.T) {
	var fields []string
	typ := reflect.TypeFor[QueryVars]()
	for i := range typ.NumField() {
		fields = append(fields, typ.Field(i).Name)
	}
	if got := slices.Sorted(slices.Values(queryVars)); !slices.Equal(got, slices.Sorted(slices.Values(fields))) {
		t.Errorf("queryVars = %v, QueryVars has %v", queryVars, fields)
	}
}

func TestObjectRefString(t *testing.T) {
	tests := []struct {
		got  interface{ String() string }
		want string
	}{
		{ObjectRef{Kind: KindDeployment, Name: "shop"}, "deployment/shop"}, {ObjectRef{}, ""},
		{ServicePort{Number: 8080}, "8080"}, {ServicePort{Name: "http"}, "http"}, {ServicePort{}, ""},
	}
	for _, tt := range tests {
		if got := tt.got.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.got, got, tt.want)
		}
	}
}

// TestKubernetesDocExamples parses the YAML examples of docs/kubernetes.md, so that its reference of keys stays
// true. A block of environments alone is given the stages of a minimal pipeline.
func TestKubernetesDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/kubernetes.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(doc), "```yaml\n")[1:]
	if len(blocks) == 0 {
		t.Fatal("docs/kubernetes.md has no YAML example")
	}
	for i, b := range blocks {
		b, _, _ = strings.Cut(b, "```")
		if strings.HasPrefix(b, "environments:") {
			b = "version: 1\nstages: [{name: build, steps: [{name: compile, run: make}]}]\n" + b
		}
		if _, err := Parse(fmt.Sprintf("docs/kubernetes.md block %d", i+1), []byte(b)); err != nil {
			t.Error(err)
		}
	}
}
