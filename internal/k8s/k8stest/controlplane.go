package k8stest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	// ContextName is the context of the admin kubeconfig.
	ContextName = "ferry-test"
	// PodCIDR is where kwok takes pod IPs from. Nothing on the host network routes to it: a test that sends
	// traffic to pod IPs does so inside a network namespace it made itself.
	PodCIDR = "10.244.0.1/24"
	// ServiceCIDR is where Services take cluster IPs from.
	ServiceCIDR = "10.96.0.0/16"
	// NodeName is the one fake node kwok keeps Ready.
	NodeName = "kwok-node-0"
)

// ControlPlane is a running control plane. Its fields are set by Start and must not be changed.
type ControlPlane struct {
	Dir        string               // certificates, etcd's data, the kubeconfigs and one log file per component
	Config     *rest.Config         // the admin (group system:masters); copy it before changing it
	Kubeconfig string               // the admin's kubeconfig file; its current context is ContextName
	Context    string               // ContextName
	Client     kubernetes.Interface // the admin's clientset
	Dynamic    dynamic.Interface    // the admin's dynamic client, for the Gateway API's resources
	StartedIn  time.Duration        // from starting etcd to the node Ready and the CRDs Established

	bins   Binaries
	pki    *pki
	procs  []*process
	mapper mapper
}

// Start starts a control plane in a new temporary folder and waits until the node is Ready and the Gateway
// API CRDs are Established. On error nothing is left running; the error carries the end of each
// component's log, and the folder is kept. The caller stops it with Stop and removes Dir.
func Start(ctx context.Context) (*ControlPlane, error) {
	bins, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	// The ports are picked free and then given to the components, so another process may take one in between;
	// when a component reports its address in use, start again on new ports.
	for attempt := 1; ; attempt++ {
		cp, err := start(ctx, bins)
		if err == nil {
			return cp, nil
		}
		if !errors.Is(err, errAddrInUse) || attempt == 3 {
			return nil, err
		}
	}
}

var errAddrInUse = errors.New("address already in use")

func start(ctx context.Context, bins Binaries) (cp *ControlPlane, err error) {
	removeStale()
	dir, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	cp = &ControlPlane{Dir: dir, Context: ContextName, bins: bins}
	defer func() {
		if err != nil {
			cp.Stop()
			logs := cp.Logs(40)
			if cp.addrInUse() { // Start tries again on new ports: this folder is of no use
				_ = os.RemoveAll(dir)
				err = fmt.Errorf("start control plane: %w (%w)\n%s", err, errAddrInUse, logs)
				return
			}
			// The folder stays for a look; the next start removes it once this test binary is gone.
			err = fmt.Errorf("start control plane (folder %s kept): %w\n%s", dir, err, logs)
		}
	}()
	if err := writeOwner(dir); err != nil {
		return cp, err
	}
	begin := time.Now()
	if cp.pki, err = newPKI(dir); err != nil {
		return cp, err
	}
	ports, err := freePorts(5)
	if err != nil {
		return cp, err
	}
	etcdClient, etcdPeer, apiPort, kcmPort, schedPort := ports[0], ports[1], ports[2], ports[3], ports[4]

	if err := cp.startEtcd(etcdClient, etcdPeer); err != nil {
		return cp, err
	}
	if err := cp.startAPIServer(apiPort, etcdClient); err != nil {
		return cp, err
	}
	cp.Config = restConfig("https://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(apiPort)), cp.pki.CAPEM, cp.pki.AdminToken)
	cp.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := WriteKubeconfig(cp.Kubeconfig, ContextName, cp.Config); err != nil {
		return cp, err
	}
	if cp.Client, err = kubernetes.NewForConfig(cp.Config); err != nil {
		return cp, fmt.Errorf("admin client: %w", err)
	}
	if cp.Dynamic, err = dynamic.NewForConfig(cp.Config); err != nil {
		return cp, fmt.Errorf("admin dynamic client: %w", err)
	}
	if err := cp.waitReadyz(ctx); err != nil {
		return cp, err
	}
	// The controllers and kwok retry until the API server answers, but starting them after it is ready keeps
	// their logs free of connection errors.
	if err := cp.startControllers(kcmPort, schedPort); err != nil {
		return cp, err
	}
	if err := cp.createNode(ctx); err != nil {
		return cp, err
	}
	if err := cp.installCRDs(ctx); err != nil {
		return cp, err
	}
	if err := cp.waitNodeReady(ctx); err != nil {
		return cp, err
	}
	cp.StartedIn = time.Since(begin)
	return cp, nil
}

func (cp *ControlPlane) run(name string, env []string, args ...string) error {
	p, err := startProcess(name, cp.bins.Path(name), filepath.Join(cp.Dir, name+".log"), env, args...)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, p)
	return nil
}

func (cp *ControlPlane) startEtcd(clientPort, peerPort int) error {
	client := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))
	peer := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))
	return cp.run("etcd", nil,
		"--name=default",
		"--data-dir="+filepath.Join(cp.Dir, "etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=default="+peer,
		"--logger=zap", "--log-level=warn",
	)
}

func (cp *ControlPlane) startAPIServer(port, etcdPort int) error {
	p := cp.pki
	return cp.run("kube-apiserver", nil,
		"--etcd-servers=http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(etcdPort)),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--tls-cert-file="+p.CertFile, "--tls-private-key-file="+p.KeyFile, "--client-ca-file="+p.CAFile,
		"--token-auth-file="+p.TokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.SAPubFile, "--service-account-signing-key-file="+p.SAKeyFile,
		"--service-cluster-ip-range="+ServiceCIDR,
		// No kubelets, one API server: nothing to reconcile the kubernetes Service's endpoints with, and no
		// load to be fair about.
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
	)
}

func (cp *ControlPlane) startControllers(kcmPort, schedPort int) error {
	kc := cp.Kubeconfig
	common := []string{"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--profiling=false"}
	if err := cp.run("kube-controller-manager", nil, append(common,
		"--secure-port="+strconv.Itoa(kcmPort),
		"--service-account-private-key-file="+cp.pki.SAKeyFile,
		"--root-ca-file="+cp.pki.CAFile,
		"--service-cluster-ip-range="+ServiceCIDR,
	)...); err != nil {
		return err
	}
	if err := cp.run("kube-scheduler", nil, append(common, "--secure-port="+strconv.Itoa(schedPort))...); err != nil {
		return err
	}
	// kwok reads ~/.kwok/kwok.yaml when there is one: a HOME of its own keeps a developer's file out.
	home := filepath.Join(cp.Dir, "kwok-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("start kwok: %w", err)
	}
	return cp.run("kwok", []string{"HOME=" + home},
		"--kubeconfig="+kc,
		"--manage-nodes-with-annotation-selector="+kwokAnnotation+"=fake",
		"--cidr="+PodCIDR,
		"--node-lease-duration-seconds=40",
	)
}

// Stop stops every component, newest first, each with its process group, and waits for them to exit. The
// folder is left for the caller: Main removes it unless a test failed. Stop may be called more than once.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		cp.procs[i].stop(10 * time.Second)
	}
}

// Components are the running processes, in start order: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok.
func (cp *ControlPlane) Components() []Component {
	out := make([]Component, 0, len(cp.procs))
	for _, p := range cp.procs {
		out = append(out, Component{Name: p.Name, PID: p.PID(), LogFile: p.LogFile})
	}
	return out
}

// Component is one process of the control plane.
type Component struct {
	Name    string
	PID     int
	LogFile string
}

// Logs is the end of every component's log, at most lines lines each.
func (cp *ControlPlane) Logs(lines int) string {
	var b strings.Builder
	for _, p := range cp.procs {
		fmt.Fprintf(&b, "==== %s (%s) ====\n%s\n", p.Name, p.LogFile, p.tail(lines))
	}
	return b.String()
}

// checkAlive fails when a component has exited: every wait loop calls it, so a crash ends the wait at once
// instead of at its deadline.
func (cp *ControlPlane) checkAlive() error {
	for _, p := range cp.procs {
		if ok, err := p.Exited(); ok {
			return fmt.Errorf("%s %w: %v", p.Name, errExited, err)
		}
	}
	return nil
}

func (cp *ControlPlane) addrInUse() bool {
	for _, p := range cp.procs {
		if data, err := os.ReadFile(p.LogFile); err == nil && strings.Contains(string(data), "address already in use") {
			return true
		}
	}
	return false
}

// freePorts picks n distinct free loopback ports, holding them all open together so none is picked twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
