package cli

import (
	"bytes"
	"testing"

	"github.com/ferry-cd/ferry/internal/api"
)

func TestStatusSaysWhyARunningReleaseIsNotHealthy(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out}
	a.printUnhealthy([]*api.ProjectStatus{{Project: "shop", Environments: []api.EnvStatus{{Name: "production", Running: []api.ReleaseState{
		{ID: "7", Healthy: true},
		{ID: "8", Version: 5, Reason: "0 of 1 instances healthy (2 restarts): instance 0 exited with status 1: \x1b[31mno config\x1b[0m",
			Instances: []api.InstanceStatus{{LastOutput: []string{"starting", "\x1b[31mno config\x1b[0m"}}}},
	}}}}})
	want := "\nshop/production release v5 is not healthy: 0 of 1 instances healthy (2 restarts): instance 0 exited with status 1: no config\n" +
		"  instance 0 | starting\n  instance 0 | no config\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}
