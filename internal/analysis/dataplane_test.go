package analysis

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/proxy"
)

var _ StatsSource = (*dataplane.Client)(nil)

// DataPlane asks a real data plane, over its socket API, for the release that has each role.
func TestDataPlane(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "dp.sock")
	l, err := dataplane.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	plane := &dataplane.Plane{DataDir: t.TempDir()}
	srv := &http.Server{Handler: plane.Handler(nil)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	figures := DataPlane{Source: dataplane.NewClient(sock), Env: "production", Stable: "r1"}
	_, err = figures.Summary(t.Context(), proxy.Stable, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "release r1 in production: data plane: no figures") {
		t.Errorf("Summary of a release the proxy never routed to = %v", err)
	}
	_, err = figures.Summary(t.Context(), proxy.Canary, 5*time.Second)
	if err == nil || err.Error() != "environment production has no canary release" {
		t.Errorf("Summary without a canary = %v", err)
	}
}
