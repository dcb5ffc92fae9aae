package kubernetes_test

import (
	"bufio"
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/deploy/kubernetes"
	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
)

// routeWatchesEnded reads how many watches of HTTPRoutes the API server has seen end (apiserver_request_total
// counts a watch when it ends). Only ferry's informers watch HTTPRoutes in the test control plane: it runs
// no Gateway controller.
func routeWatchesEnded(t *testing.T, cp *k8stest.ControlPlane) int64 {
	t.Helper()
	raw, err := cp.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	must(t, "read the API server's metrics", err)
	var n int64
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "apiserver_request_total{") && strings.Contains(l, `verb="WATCH"`) && strings.Contains(l, `resource="httproutes"`) {
			v, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
			n += int64(v)
		}
	}
	return n
}

// TestWatchesOutliveTheCallTimeout: the target's Timeout bounds its calls to the API server, not its
// watches. A watch cut at every Timeout is re-opened at once, which hides the cut from the tests but costs
// the API server a request per watch per Timeout: 1200 a minute for 100 idle environments at 30 s.
func TestWatchesOutliveTheCallTimeout(t *testing.T) {
	cp := k8stest.Shared(t)
	ns := cp.Namespace(t)
	tg := kubernetes.New(kubernetes.Config{Kubeconfig: cp.Kubeconfig, Timeout: time.Second})
	t.Cleanup(tg.Close)
	must(t, "watch", tg.Watch(context.Background(), "", ns))
	before := routeWatchesEnded(t, cp)
	// Three timeouts; the API server ends a watch after 5 to 10 minutes, when the client asks nothing shorter.
	time.Sleep(3500 * time.Millisecond)
	if ended := routeWatchesEnded(t, cp) - before; ended != 0 {
		t.Errorf("%d watches of HTTPRoutes ended within 3.5 s of a target whose call timeout is 1 s: the timeout cuts its watches", ended)
	}
}
