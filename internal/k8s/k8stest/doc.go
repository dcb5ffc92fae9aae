// Package k8stest starts a real Kubernetes control plane for tests: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok, which fakes a Ready node so that Deployments get
// ReplicaSets and pods become Ready without a container runtime. The Gateway API standard CRDs are installed.
//
// The binaries come from scripts/k8s-binaries.sh, which builds and caches them; the tests find them through
// one variable, FERRY_K8S_BIN. When it is unset or its folder is incomplete, the tests fail with a message
// naming the script: they never skip.
//
// A test package starts one control plane and shares it between its tests:
//
//	func TestMain(m *testing.M) { k8stest.Main(m) }
//
//	func TestX(t *testing.T) {
//		cp := k8stest.Shared(t)
//		ns := cp.Namespace(t) // a fresh namespace per test keeps tests apart
//		...
//	}
//
// Every process runs in its own process group with a parent-death signal, so none outlives the test binary,
// even after a panic or a test timeout. Each component logs to a file in the control plane's folder; the logs
// are printed when starting fails or a test that used the control plane fails.
//
// The package imports nothing of ferry's.
package k8stest
