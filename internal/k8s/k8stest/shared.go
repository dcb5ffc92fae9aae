package k8stest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// startTimeout bounds starting the shared control plane: about 5 s on quiet cores, far more on busy ones.
const startTimeout = 5 * time.Minute

var shared struct {
	mainRunning bool // set by Main before the tests run
	once        sync.Once
	cp          *ControlPlane
	err         error
	reported    atomic.Bool // the start error has been reported once with its logs
}

// Main runs the package's tests, then stops the control plane if a test started one, and exits. The control
// plane's folder is removed when every test passed and kept (its path printed) otherwise. Call it from
// TestMain.
func Main(m *testing.M) {
	shared.mainRunning = true
	code := m.Run()
	if cp := shared.cp; cp != nil {
		cp.Stop()
		if code == 0 {
			_ = os.RemoveAll(cp.Dir)
		} else {
			fmt.Fprintf(os.Stderr, "k8stest: the control plane's logs and data are kept in %s\n", cp.Dir)
		}
	}
	os.Exit(code)
}

// Shared is the package's control plane, started by the first test that asks for it. A test fails (it never
// skips) when the control plane cannot start, with the reason and the components' logs; when a test that
// used it fails, the end of each component's log is printed with it.
func Shared(t testing.TB) *ControlPlane {
	t.Helper()
	if !shared.mainRunning {
		t.Fatal("k8stest: the package's TestMain must call k8stest.Main(m), which stops the shared control plane")
	}
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		shared.cp, shared.err = Start(ctx)
	})
	if shared.err != nil {
		// The logs go with the first failure only; the package's other tests would repeat them.
		if shared.reported.Swap(true) {
			first, _, _ := strings.Cut(shared.err.Error(), "\n")
			t.Fatalf("the control plane did not start (logs with the first test that failed): %s", first)
		}
		t.Fatal(shared.err)
	}
	cp := shared.cp
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the control plane's logs (folder %s):\n%s", cp.Dir, cp.Logs(30))
		}
	})
	return cp
}

// Namespace creates a namespace for the test, named after it, and deletes it when the test ends. It
// returns once the namespace's default service account exists, without which no pod can be created.
func (cp *ControlPlane) Namespace(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := namespaceName(t.Name())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		// Deleting is asynchronous (finalizers); nothing waits for it.
		_ = cp.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := cp.poll(wctx, "service account default in "+name, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

var notDNSLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// namespaceName makes a DNS label from a test name, with a random suffix so that -count=2 and parallel
// packages never collide.
func namespaceName(test string) string {
	base := strings.Trim(notDNSLabel.ReplaceAllString(strings.ToLower(test), "-"), "-")
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	return base + "-" + strings.ToLower(rand.Text()[:6])
}
