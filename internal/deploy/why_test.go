package deploy

import "testing"

func TestWhySaysWhatTheInstancesLastReported(t *testing.T) {
	for _, tc := range []struct {
		name string
		rs   ReleaseStatus
		want string
	}{
		{"healthy", ReleaseStatus{Healthy: true, Instances: []Instance{{State: InstanceHealthy, LastProbe: "GET /h answered 200"}}}, ""},
		{"nothing known", ReleaseStatus{Instances: []Instance{{State: InstanceStarting}}}, ""},
		{"probe of the instance not ready", ReleaseStatus{Instances: []Instance{
			{State: InstanceHealthy, LastProbe: "GET /h answered 200"},
			{State: InstanceStarting, LastProbe: "GET /h answered 404"}}}, "GET /h answered 404 (instance 1)"},
		{"exit with its last line", ReleaseStatus{Instances: []Instance{
			{State: InstanceStarting, LastProbe: "GET /h: connection refused", LastExit: "exit status 1", Restarts: 2,
				LastOutput: []string{"starting", "open config.yaml: no such file"}}}},
			"instance 0 exited with status 1: open config.yaml: no such file"},
		{"killed, nothing printed", ReleaseStatus{Instances: []Instance{{State: InstanceExited, LastExit: "killed by killed"}}},
			"instance 0 ended: killed by killed"},
		{"an old exit of a healthy instance is not why", ReleaseStatus{Instances: []Instance{
			{State: InstanceHealthy, LastExit: "exit status 2", Restarts: 1},
			{State: InstanceStarting, LastProbe: "GET /h: no answer in time"}}}, "GET /h: no answer in time (instance 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rs.Why(); got != tc.want {
				t.Errorf("Why() = %q, want %q", got, tc.want)
			}
		})
	}
}
