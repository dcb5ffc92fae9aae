package k8stest

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvBin names the folder holding the binaries and the Gateway API CRDs, as printed by the script.
const EnvBin = "FERRY_K8S_BIN"

// script is how a developer gets the binaries; every "not found" error says it.
const script = `export FERRY_K8S_BIN="$(scripts/k8s-binaries.sh)"` +
	" (from the repository root; the first build takes minutes, then it is cached)"

// Binaries is the folder made by scripts/k8s-binaries.sh.
type Binaries struct {
	Dir string
}

// binaryNames are the executables the folder must hold.
var binaryNames = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// FindBinaries reads EnvBin and checks that every binary and the CRD folder is there.
func FindBinaries() (Binaries, error) {
	dir := os.Getenv(EnvBin)
	if dir == "" {
		return Binaries{}, fmt.Errorf("%s is not set: the Kubernetes tests need a real control plane; run %s", EnvBin, script)
	}
	b := Binaries{Dir: dir}
	for _, name := range binaryNames {
		info, err := os.Stat(b.Path(name))
		if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			return Binaries{}, fmt.Errorf("%s=%s has no executable %s; run %s", EnvBin, dir, name, script)
		}
	}
	crds, _ := filepath.Glob(filepath.Join(b.CRDDir(), "*.yaml"))
	if len(crds) == 0 {
		return Binaries{}, fmt.Errorf("%s=%s has no Gateway API CRDs in %s; run %s", EnvBin, dir, b.CRDDir(), script)
	}
	return b, nil
}

// Path is the path of one binary.
func (b Binaries) Path(name string) string { return filepath.Join(b.Dir, name) }

// CRDDir holds the Gateway API standard CRDs, one YAML file each.
func (b Binaries) CRDDir() string { return filepath.Join(b.Dir, "gateway-api-crds") }
