package deploy

import (
	"fmt"
	"strings"
)

// Why says in a sentence why a release that is not healthy is not, from what its instances last reported:
// the exit of an instance that ended on its own, with the last line it printed ("instance 0 exited with
// status 1: listen tcp: address already in use"), or else what the last readiness check of an instance that is
// not ready saw ("GET /healthz answered 404 (instance 0)"). It is "" when the instances say nothing (or the
// release is healthy). Instances are numbered from 0, as their logs are.
func (r *ReleaseStatus) Why() string {
	if r == nil || r.Healthy {
		return ""
	}
	for i, in := range r.Instances {
		if in.State == InstanceHealthy || in.LastExit == "" || (in.Restarts == 0 && in.State != InstanceExited) {
			continue
		}
		why := fmt.Sprintf("instance %d ", i)
		if code, ok := strings.CutPrefix(in.LastExit, "exit status "); ok {
			why += "exited with status " + code
		} else {
			why += "ended: " + in.LastExit
		}
		if n := len(in.LastOutput); n > 0 {
			why += ": " + in.LastOutput[n-1]
		}
		return why
	}
	for i, in := range r.Instances {
		if in.State != InstanceHealthy && in.LastProbe != "" {
			return fmt.Sprintf("%s (instance %d)", in.LastProbe, i)
		}
	}
	return ""
}
