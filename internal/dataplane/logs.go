package dataplane

import (
	"path/filepath"
	"strconv"
)

// The output of each instance (stdout and stderr, appended across its restarts) goes to
// DATA/instances/ENV/RELEASE-N.log, N counting the release's instances from 0. The control plane reads them
// there for `ferry logs --env`; it shares the data folder.

// InstanceLogPrefix is the path InstanceLogPath adds "-N.log" to (retention removes PREFIX-*.log). env is made
// one path element of safe characters.
func InstanceLogPrefix(dataDir, env, release string) string {
	return filepath.Join(dataDir, "instances", safeName(env), safeName(release))
}

// InstanceLogPath is where instance n of a release in env writes its output, in a data plane's data folder.
func InstanceLogPath(dataDir, env, release string, n int) string {
	return InstanceLogPrefix(dataDir, env, release) + "-" + strconv.Itoa(n) + ".log"
}
