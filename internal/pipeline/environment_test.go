package pipeline

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	defaultHealth   = Health{Path: "/healthz", Interval: time.Second, Timeout: 2 * time.Second}
	defaultAnalysis = Analysis{Interval: 5 * time.Second, MinRequests: 20}
)

func TestParseEnvironments(t *testing.T) {
	data, err := os.ReadFile("testdata/environments.ferry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(FileName, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []Environment{{
		Name:   "staging",
		Target: "local",
		Service: Service{
			Run:    "./dist/app",
			Listen: "127.0.0.1:9001", At: Claim{Listen: Pos{14, 15}},
			Instances: 2,
			Env:       map[string]string{"APP_MODE": "staging"},
			Secrets:   []string{"DATABASE_URL"},
			Health:    defaultHealth,
		},
		Strategy: Strategy{Kind: BlueGreen},
		Analysis: defaultAnalysis,
		Pos:      Pos{10, 5},
	}, {
		Name:       "production",
		After:      "staging",
		Production: true,
		Target:     "local",
		Service:    Service{Run: "./dist/app", Listen: "127.0.0.1:9000", Instances: 2, Health: defaultHealth, At: Claim{Listen: Pos{24, 40}}},
		Strategy: Strategy{Kind: Canary, Steps: []CanaryStep{
			{Weight: 5, Pause: 30 * time.Second},
			{Weight: 25, Pause: 30 * time.Second},
			{Weight: 50, Pause: 30 * time.Second},
		}},
		Analysis: Analysis{
			Interval:       5 * time.Second,
			FailureLimit:   1,
			MinRequests:    20,
			OnInconclusive: InconclusiveWait,
			Checks: []Check{
				{Metric: "error_rate", Max: new(0.01), Pos: Pos{34, 11}},
				{Metric: "latency_p99", Max: new(0.3), Pos: Pos{35, 11}},
				{Metric: "error_rate", MaxOverStable: new(0.005), Pos: Pos{36, 11}},
				{HTTP: &HTTPCheck{Path: "/checkout", Method: "GET", ExpectStatus: 200, Every: 2 * time.Second, Timeout: 2 * time.Second},
					Pos: Pos{37, 11}},
				{Prometheus: &PrometheusCheck{URL: "http://127.0.0.1:9090", Query: "sum(rate(app_errors_total[1m]))", Max: new(0.1)},
					Pos: Pos{38, 11}},
			},
		},
		Bake: 2 * time.Minute,
		Pos:  Pos{20, 5},
	}}
	if !reflect.DeepEqual(p.Environments, want) {
		t.Errorf("Environments:\n got %+v\nwant %+v", p.Environments, want)
	}
}

// TestParseEnvironmentDefaults covers the defaults of the keys the example sets, and the other way
// to write each value.
func TestParseEnvironmentDefaults(t *testing.T) {
	p, err := Parse("", []byte(`version: 1
stages: [{name: a, steps: [{name: b, run: c}]}]
environments:
  - name: web
    service: {run: ./app, listen: "[::1]:80", health: {interval: 3s}}
    strategy: {blue_green: {}}
    analysis:
      interval: 1s
      on_inconclusive: rollback
      checks:
        - {metric: error_rate, min: 0, max: 0.02}
        - {metric: request_rate, min: 5}
        - {metric: latency_p50, max: 1.5s, max_over_stable: 0}
        - http: {path: /buy, method: POST, body: '{"sku": 1}', expect_status: 201, expect_body: ok, timeout: 500ms}
        - prometheus: {url: https://prom.example.com/, query: up, min: -1, max: 1}
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Environment{
		Name:     "web",
		Target:   "local",
		Service:  Service{Run: "./app", Listen: "[::1]:80", Instances: 1, Health: Health{"/healthz", 3 * time.Second, 2 * time.Second}, At: Claim{Listen: Pos{5, 35}}},
		Strategy: Strategy{Kind: BlueGreen},
		Analysis: Analysis{
			Interval:       time.Second,
			MinRequests:    20,
			OnInconclusive: InconclusiveRollback,
			Checks: []Check{
				{Metric: "error_rate", Min: new(0.0), Max: new(0.02), Pos: Pos{11, 11}},
				{Metric: "request_rate", Min: new(5.0), Pos: Pos{12, 11}},
				{Metric: "latency_p50", Max: new(1.5), MaxOverStable: new(0.0), Pos: Pos{13, 11}},
				{HTTP: &HTTPCheck{Path: "/buy", Method: "POST", Body: `{"sku": 1}`, ExpectStatus: 201, ExpectBody: "ok",
					Every: time.Second, Timeout: 500 * time.Millisecond}, Pos: Pos{14, 11}},
				{Prometheus: &PrometheusCheck{URL: "https://prom.example.com/", Query: "up", Min: new(-1.0), Max: new(1.0)},
					Pos: Pos{15, 11}},
			},
		},
		Pos: Pos{4, 5},
	}
	if len(p.Environments) != 1 || !reflect.DeepEqual(p.Environments[0], want) {
		t.Errorf("Environments:\n got %+v\nwant [%+v]", p.Environments, want)
	}
}

func TestEnvironmentErrors(t *testing.T) {
	// envs wraps lines of the environments list, written at its indentation; they start at line 4, column 3.
	envs := func(lines ...string) string {
		return "version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\nenvironments:\n  " +
			strings.Join(lines, "\n  ") + "\n"
	}
	// env wraps further lines of a valid environment "web"; they start at line 6, column 5.
	env := func(lines ...string) string {
		for i := range lines {
			lines[i] = "  " + lines[i]
		}
		return envs(append([]string{"- name: web", "  service: {run: ./app, listen: 127.0.0.1:9000}"}, lines...)...)
	}
	// check wraps one analysis check of "web"; its value starts at line 8, column 11.
	check := func(c string) string { return env("analysis:", "  checks:", "    - "+c) }
	tests := []struct {
		name string
		in   string
		want []string
	}{
		// The environment.
		{"unknown key", env("strategy: direct", "bakee: 1m"), []string{
			`7:5: unknown key "bakee" in environment (did you mean "bake"?)`}},
		{"duplicate key", env("bake: 1m", "bake: 2m"), []string{
			`7:5: duplicate key "bake" in environment (first at line 6); remove one`}},
		{"no service", envs("- name: web"), []string{
			`4:5: environment "web" has no "service"; add the app to run, like service: {run: ./dist/app, listen: 127.0.0.1:9000}`}},
		{"production not a boolean", env(`production: "yes"`), []string{
			`6:17: "production" must be true or false, not "yes"`}},
		{"target misspelt", env("target: locl"), []string{
			`6:13: "target" must be local or kubernetes, not "locl" (did you mean "local"?)`}},
		{"bake without unit", env("bake: 2"), []string{`6:11: "bake" 2 has no unit; write "2s" or "2m"`}},
		{"bake negative", env("bake: -1m"), []string{`6:11: "bake" must not be negative, not "-1m"`}},

		// The service.
		{"service not a mapping", envs("- name: web", "  service: ./app"), []string{
			`5:14: "service" must be a mapping, not "./app"`}},
		{"service empty", envs("- name: web", "  service:"), []string{
			`5:13: service has no "run"; add the command that starts the app, like run: ./dist/app`,
			`5:13: service has no "listen"; add the address ferry's proxy serves, like listen: 127.0.0.1:9000`}},
		{"service keys", envs("- name: web", "  service: {run: ' ', listen: 127.0.0.1:80, instance: 2}"), []string{
			`5:20: "run" is empty; give the command that starts the app, like ./dist/app`,
			`5:47: unknown key "instance" in service (did you mean "instances"?)`}},
		{"instances out of range", envs("- name: web", "  service: {run: a, listen: 127.0.0.1:80, instances: 65}"), []string{
			`5:56: "instances" must be a whole number from 1 to 64, not 65`}},
		{"service env", envs("- name: web", "  service: {run: a, listen: 127.0.0.1:80, env: {PORT: 1, FERRY_X: 2, 9a: 3}}"), []string{
			`5:51: env name "PORT" is reserved: ferry sets it to each instance's own port; rename it`,
			`5:60: env name "FERRY_X" is reserved: ferry sets the FERRY_* variables itself; rename it`,
			`5:72: invalid env name "9a": use letters, digits and "_", not starting with a digit`}},
		{"service secrets", envs("- name: web", "  service: {run: a, listen: 127.0.0.1:80, env: {DB: x}, secrets: [PORT, DB, FERRY_T, 9a, OK, OK]}"), []string{
			`5:69: secret name "PORT" is reserved: ferry sets it to each instance's own port; rename the secret`,
			`5:75: secret DB is also set in the service's env; keep one of them`,
			`5:79: secret name "FERRY_T" is reserved: ferry sets the FERRY_* variables itself; rename it`,
			`5:88: invalid secret name "9a": use letters, digits and "_", not starting with a digit`,
			`5:96: duplicate secret "OK" (first at line 5); remove one`}},
		{"service secrets not a list", envs("- name: web", "  service: {run: a, listen: 127.0.0.1:80, secrets: DB}"), []string{
			`5:54: "secrets" must be a list, not "DB"`}},
		{"health", envs("- name: web", "  service:", "    run: a", "    listen: 127.0.0.1:80",
			"    health: {path: healthz, interval: 0s, timeout: soon, retry: 3}"), []string{
			`8:22: "path" must start with "/", like /healthz, not "healthz"`,
			`8:41: "interval" must be more than zero, not "0s"`,
			`8:54: invalid "timeout" "soon": write a duration like "90s", "10m" or "1h30m"`,
			`8:60: unknown key "retry" in health (known keys: path, interval, timeout)`}},
		{"health path with a space", envs("- name: web", "  service: {run: a, listen: 127.0.0.1:80, health: {path: /a b}}"), []string{
			`5:60: "path" "/a b" has spaces or control characters; encode them, like %20 for a space`}},

		// Listen addresses.
		{"listen without port", envs("- name: web", "  service: {run: a, listen: 127.0.0.1}"), []string{
			`5:31: "listen" "127.0.0.1" has no port; write host:port, like 127.0.0.1:9000`}},
		{"listen port zero", envs("- name: web", "  service: {run: a, listen: 127.0.0.1:0}"), []string{
			`5:31: "listen" port "0" must be a number from 1 to 65535`}},
		{"listen port too big", envs("- name: web", "  service: {run: a, listen: 127.0.0.1:65536}"), []string{
			`5:31: "listen" port "65536" must be a number from 1 to 65535`}},
		{"listen port by name", envs("- name: web", "  service: {run: a, listen: 'localhost:http'}"), []string{
			`5:31: "listen" port "http" must be a number from 1 to 65535`}},
		{"listen host name", envs("- name: web", "  service: {run: a, listen: example.com:80}"), []string{
			`5:31: "listen" host "example.com" must be an IP address or localhost`}},
		{"listen without host", envs("- name: web", "  service: {run: a, listen: ':80'}"), []string{
			`5:31: "listen" ":80" has no host; write 127.0.0.1:80 for this machine only, or 0.0.0.0:80 for every interface`}},
		{"listen IPv6 without brackets", envs("- name: web", "  service: {run: a, listen: '::1:80'}"), []string{
			`5:31: "listen" IPv6 address "::1" must be in brackets, like [::1]:80`}},
		{"listen clashes", envs(
			"- {name: a, service: {run: a, listen: 127.0.0.1:80}}",
			"- {name: b, service: {run: a, listen: 127.0.0.1:80}}",
			"- {name: c, service: {run: a, listen: 0.0.0.0:81}}",
			"- {name: d, service: {run: a, listen: 127.0.0.2:81}}",
			"- {name: e, service: {run: a, listen: '[::1]:82'}}",
			"- {name: f, service: {run: a, listen: localhost:82}}",
			"- {name: g, service: {run: a, listen: 127.0.0.2:80}}"), []string{
			`5:41: duplicate listen address "127.0.0.1:80" (first at line 4); give each environment its own`,
			`7:41: listen address "127.0.0.2:81" overlaps "0.0.0.0:81" (line 6); give each environment its own port`,
			`9:41: listen address "localhost:82" overlaps "[::1]:82" (line 8); give each environment its own port`}},

		// Strategies.
		{"canary by name", env("strategy: canary"), []string{
			`6:15: strategy canary needs steps; write it as canary: {steps: [{weight: 10, pause: 30s}, {weight: 50, pause: 30s}]}`}},
		{"strategy misspelt", env("strategy: bluegreen"), []string{
			`6:15: "strategy" must be direct, blue_green or canary, not "bluegreen" (did you mean "blue_green"?)`}},
		{"strategy a list", env("strategy: [canary]"), []string{
			`6:15: "strategy" must be direct, blue_green or canary, not a list`}},
		{"strategy empty mapping", env("strategy: {}"), []string{
			`6:15: "strategy" is empty; write direct, blue_green or canary: {steps: [...]}`}},
		{"two strategies", env("strategy: {direct: , canary: {steps: [{weight: 5}]}}"), []string{
			`6:26: strategy has both "direct" and "canary"; choose one`}},
		{"blue_green with steps", env("strategy: {blue_green: {steps: [{weight: 5}]}}"), []string{
			`6:28: strategy blue_green takes no settings; write strategy: blue_green`}},
		{"canary without steps", env("strategy: {canary: {step: []}}"), []string{
			`6:24: strategy canary has no "steps"; add a list like [{weight: 10, pause: 30s}, {weight: 50, pause: 30s}]`,
			`6:25: unknown key "step" in canary (did you mean "steps"?)`}},
		{"canary steps empty", env("strategy: {canary: {steps: []}}"), []string{
			`6:32: canary "steps" is empty; add at least one, like {weight: 10, pause: 30s}`}},
		{"canary steps", env("strategy:", "  canary:", "    steps:",
			"      - {weight: 50, pause: 1m}",
			"      - {weight: 50}",
			"      - {weight: 0}",
			"      - {weight: 101}",
			"      - {weight: 10%}",
			"      - {pause: -1s}",
			"      - {weight: 60, pause: 5, wait: 1m}"), []string{
			`10:22: canary weight 50 is not more than the step before (50); weights must increase`,
			`11:22: "weight" must be a whole number from 1 to 100, not 0`,
			`12:22: "weight" must be a whole number from 1 to 100, not 101`,
			`13:22: "weight" must be a whole number from 1 to 100, not "10%"`,
			`14:13: canary step has no "weight"; add the percentage of traffic it sends to the new release, like weight: 10`,
			`14:21: "pause" must not be negative, not "-1s"`,
			`15:33: "pause" 5 has no unit; write "5s" or "5m"`,
			`15:36: unknown key "wait" in canary step (known keys: weight, pause)`}},

		// The order of environments.
		{"after unknown", envs(
			"- {name: staging, service: {run: a, listen: 127.0.0.1:80}}",
			"- {name: production, after: stagign, service: {run: a, listen: 127.0.0.1:81}}",
			"- {name: eu, after: us, service: {run: a, listen: 127.0.0.1:82}}",
			"- {name: solo, after: '', service: {run: a, listen: 127.0.0.1:83}}"), []string{
			`5:31: "after" names no environment: "stagign" (did you mean "staging"?)`,
			`6:23: "after" names no environment: "us" (environments: staging, production, solo)`,
			`7:25: "after" is empty; name the environment this one follows, or remove it`}},
		{"after itself", envs("- {name: web, after: web, service: {run: a, listen: 127.0.0.1:80}}"), []string{
			`4:24: environment "web" cannot come after itself; name the one it follows, or remove "after"`}},
		{"cycle", envs(
			"- {name: a, after: c, service: {run: a, listen: 127.0.0.1:80}}",
			"- {name: b, after: a, service: {run: a, listen: 127.0.0.1:81}}",
			"- {name: c, after: b, service: {run: a, listen: 127.0.0.1:82}}",
			"- {name: d, after: c, service: {run: a, listen: 127.0.0.1:83}}",
			"- {name: x, after: y, service: {run: a, listen: 127.0.0.1:84}}",
			"- {name: y, after: x, service: {run: a, listen: 127.0.0.1:85}}"), []string{
			`4:22: environments follow each other in a cycle: a → b → c → a; remove "after" from the one that should go first`,
			`8:22: environments follow each other in a cycle: x → y → x; remove "after" from the one that should go first`}},

		// Analysis.
		{"analysis settings", env("analysis:", "  interval: 10ms", "  failure_limit: 101", "  min_requests: -1",
			"  on_inconclusive: rolback", "  checks: {metric: error_rate}", "  check: []"), []string{
			`7:17: "interval" must be at least 100ms, not "10ms"`,
			`8:22: "failure_limit" must be a whole number from 0 to 100, not 101`,
			`9:21: "min_requests" must be a whole number from 0 to 1000000, not -1`,
			`10:24: "on_inconclusive" must be wait, promote or rollback, not "rolback" (did you mean "rollback"?)`,
			`11:15: "checks" must be a list, not a mapping`,
			`12:7: unknown key "check" in analysis (did you mean "checks"?)`}},
		{"analysis not a mapping", env("analysis: 5s"), []string{`6:15: "analysis" must be a mapping, not "5s"`}},
		{"check not a mapping", check("error_rate"), []string{`8:11: each check must be a mapping, not "error_rate"`}},
		{"check of nothing", check("{max: 1%}"), []string{
			`8:11: check has no "metric", "http" or "prometheus"; add one, like metric: error_rate`}},
		{"check of two kinds", check("{metric: error_rate, max: 1%, http: {path: /}}"), []string{
			`8:41: check has both "metric" and "http"; give each its own check`}},
		{"unknown metric", check("{metric: cpu, max: 1}"), []string{
			`8:20: "metric" must be error_rate, latency_p50, latency_p90, latency_p95, latency_p99 or request_rate, not "cpu"`}},
		{"metric without bounds", check("{metric: latency_p95}"), []string{
			`8:11: check of latency_p95 checks nothing; add min, max or max_over_stable`}},
		{"error rate bounds", check("{metric: error_rate, min: -0.1, max: 150%, max_over_stable: lots}"), []string{
			`8:37: "min" of error_rate must be from 0 to 1 (0% to 100%), not -0.1`,
			`8:48: "max" of error_rate must be from 0 to 1 (0% to 100%), not "150%"`,
			`8:71: "max_over_stable" of error_rate must be a fraction like 0.01 or a percentage like "1%", not "lots"`}},
		{"error rate above one", check("{metric: error_rate, max: 2}"), []string{
			`8:37: "max" of error_rate must be from 0 to 1 (0% to 100%), not 2`}},
		{"latency without unit", check("{metric: latency_p99, max: 300}"), []string{
			`8:38: "max" of latency_p99 has no unit; write "300ms" or "300s", not 300`}},
		{"latency as a percentage", check("{metric: latency_p99, max_over_stable: 10%}"), []string{
			`8:50: "max_over_stable" of latency_p99 must be a duration like "300ms", not "10%"`}},
		{"latency min above max", check("{metric: latency_p90, min: 500ms, max: 300ms}"), []string{
			`8:38: min 500ms is more than max 300ms; no value can pass`}},
		{"request rate", check("{metric: request_rate, min: -1, max: 5%, max_over_stable: 1}"), []string{
			`8:39: "min" of request_rate must not be negative, not -1`,
			`8:48: "max" of request_rate must be a number, not "5%"`,
			`8:52: "max_over_stable" does not apply to request_rate, which follows the traffic weight; use it with error_rate or a latency`}},

		// HTTP checks.
		{"http without path", check("{http: {method: GET}}"), []string{
			`8:18: http check has no "path"; add the path to request, like path: /checkout`}},
		{"http settings", check("{http: {path: buy, method: get, expect_status: 700, every: 10ms, timeout: 0s, expect: ok}}"), []string{
			`8:25: "path" must start with "/", like /checkout, not "buy"`,
			`8:38: "method" must be GET, HEAD, POST, PUT, DELETE or PATCH, not "get" (did you mean "GET"?)`,
			`8:58: "expect_status" must be a whole number from 100 to 599, not 700`,
			`8:70: "every" must be at least 100ms, not "10ms"`,
			`8:85: "timeout" must be more than zero, not "0s"`,
			`8:89: unknown key "expect" in http (known keys: path, method, expect_status, every, timeout, body, expect_body, url)`}},
		{"http with a bound", check("{http: {path: /}, max: 1}"), []string{
			`8:29: "max" is only for metric checks; an http check passes on its status and body`}},

		// Prometheus checks.
		{"prometheus empty", check("{prometheus: {}}"), []string{
			`8:24: prometheus check has no "url"; add the Prometheus server, like url: http://127.0.0.1:9090`,
			`8:24: prometheus check has no "query"; add a PromQL query that returns one number`,
			`8:24: prometheus check checks nothing; add min, max, max_over_control or max_under_control`}},
		{"prometheus variant template", check(`{prometheus: {url: 'http://127.0.0.1:9090', query: 'avg(q{v="{{ .Varient }}"}) + {{ .Control.X }}', max_under_control: 0.05}}`), []string{
			`8:75: query template: unknown variable .Varient (did you mean "Variant"?); a query knows {{ .Variant }}, {{ .Control }} and {{ .Flag }}`,
			`8:95: query template: .Control.X has no fields; write {{ .Variant }}, {{ .Control }} or {{ .Flag }}`,
			`8:111: "max_under_control" compares the variant with its control, but the query does not name the variant; template it, like rate(answers_bad_total{variant="{{ .Variant }}"}[5m])`}},
		{"prometheus variant template functions", check(`{prometheus: {url: 'http://127.0.0.1:9090', query: 'q{v="{{ printf "%s" .Variant }}"}', max: 1}}`), []string{
			`8:62: query template: function "printf" not defined; write {{ .Variant }}, {{ .Control }} or {{ .Flag }}`}},
		{"prometheus variant template syntax", check(`{prometheus: {url: 'http://127.0.0.1:9090', query: 'q{v="{{ .Variant }"}', max: 1}}`), []string{
			`8:62: query template: unexpected "}" in operand; write {{ .Variant }}, {{ .Control }} or {{ .Flag }}`}},
		{"prometheus settings", check("{prometheus: {url: 'ftp://x', query: ' ', min: 2, max: '1'}, min: 0}"), []string{
			`8:30: invalid "url" "ftp://x": give an http or https URL with a host, like http://127.0.0.1:9090`,
			`8:48: "query" is empty; give a PromQL query that returns one number`,
			`8:66: "max" must be a number, not "1" (remove the quotes)`,
			`8:72: "min" is only for metric checks; put min and max inside "prometheus"`}},
		{"prometheus without host", check("{prometheus: {url: 'http:///api', query: up, min: 2, max: 1}}"), []string{
			`8:30: invalid "url" "http:///api": give an http or https URL with a host, like http://127.0.0.1:9090`,
			`8:61: min 2 is more than max 1; no value can pass`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("", []byte(tt.in))
			if p != nil {
				t.Errorf("Parse returned a pipeline with errors: %+v", p)
			}
			if got, want := errString(err), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Parse errors:\n got: %s\nwant: %s", strings.ReplaceAll(got, "\n", "\n      "), strings.ReplaceAll(want, "\n", "\n      "))
			}
		})
	}
}

func TestEnvironmentOrder(t *testing.T) {
	p, err := Parse("", []byte(`version: 1
stages: [{name: a, steps: [{name: b, run: c}]}]
environments:
  - {name: eu, after: staging, service: {run: a, listen: 127.0.0.1:81}}
  - {name: staging, service: {run: a, listen: 127.0.0.1:80}}
  - {name: us, after: staging, service: {run: a, listen: 127.0.0.1:82}}
  - {name: preview, service: {run: a, listen: 127.0.0.1:83}}
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	names := func(envs []*Environment) []string {
		var s []string
		for _, e := range envs {
			s = append(s, e.Name)
		}
		return s
	}
	if got := names(p.Roots()); !reflect.DeepEqual(got, []string{"staging", "preview"}) {
		t.Errorf("Roots = %v, want [staging preview]", got)
	}
	if got := names(p.Next("staging")); !reflect.DeepEqual(got, []string{"eu", "us"}) {
		t.Errorf(`Next("staging") = %v, want [eu us]`, got)
	}
	if got := p.Next("eu"); got != nil {
		t.Errorf(`Next("eu") = %v, want none`, names(got))
	}
	if got := p.Next(""); got != nil {
		t.Errorf(`Next("") = %v, want none`, names(got))
	}
	if e := p.Environment("us"); e != &p.Environments[2] {
		t.Errorf(`Environment("us") = %p, want the third environment %p`, e, &p.Environments[2])
	}
	if e := p.Environment("asia"); e != nil {
		t.Errorf(`Environment("asia") = %+v, want nil`, e)
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		got  interface{ String() string }
		want string
	}{
		{Direct, "direct"}, {BlueGreen, "blue_green"}, {Canary, "canary"}, {StrategyKind(7), "unknown(7)"},
		{InconclusiveWait, "wait"}, {InconclusivePromote, "promote"}, {InconclusiveRollback, "rollback"},
		{OnInconclusive(-1), "unknown(-1)"},
	}
	for _, tt := range tests {
		if got := tt.got.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.got, got, tt.want)
		}
	}
}

// TestDocExamples parses the YAML examples of docs/pipeline.md, so that the reference stays true. A block of
// environments alone is given the stages of a minimal pipeline.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/pipeline.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(doc), "```yaml\n")[1:]
	if len(blocks) == 0 {
		t.Fatal("docs/pipeline.md has no YAML example")
	}
	for i, b := range blocks {
		b, _, _ = strings.Cut(b, "```")
		if strings.HasPrefix(b, "environments:") {
			b = "version: 1\nstages: [{name: build, steps: [{name: compile, run: make}]}]\n" + b
		}
		if _, err := Parse(fmt.Sprintf("docs/pipeline.md block %d", i+1), []byte(b)); err != nil {
			t.Error(err)
		}
	}
}

func TestParseVariantCheck(t *testing.T) {
	in := "version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\nenvironments:\n  - name: web\n" +
		"    service: {run: ./app, listen: 127.0.0.1:9000}\n    analysis:\n      checks:\n" +
		"        - prometheus: {url: 'http://127.0.0.1:9090', query: 'avg(q{variant=\"{{ .Variant }}\"})', min: 0.5, max_under_control: 0.05}\n" +
		"        - prometheus: {url: 'http://127.0.0.1:9090', query: 'sum(x)', max: 1}\n"
	p, err := Parse("f.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	checks := p.Environment("web").Analysis.Checks
	v, plain := checks[0].Prometheus, checks[1].Prometheus
	if !v.Templated || v.MaxUnderControl == nil || *v.MaxUnderControl != 0.05 || v.MaxOverControl != nil || v.Min == nil || *v.Min != 0.5 {
		t.Errorf("variant check %+v", v)
	}
	if plain.Templated || plain.MaxUnderControl != nil {
		t.Errorf("plain check %+v", plain)
	}
	q, err := v.RenderQuery(VariantValues{Flag: "prompt", Variant: "concise", Control: "verbose"})
	if err != nil || q != `avg(q{variant="concise"})` {
		t.Errorf("RenderQuery = %q, %v", q, err)
	}
	if q, err := plain.RenderQuery(VariantValues{Variant: "x"}); err != nil || q != "sum(x)" {
		t.Errorf("RenderQuery of a plain query = %q, %v", q, err)
	}
}
