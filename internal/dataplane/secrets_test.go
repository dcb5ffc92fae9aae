package dataplane

import (
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecretsStayInMemory checks what a release's secrets promise: its instances get them (restarted ones
// too), they are never written into the data folder or answered, and a data plane restored from its saved
// state holds the release until the control plane sends them again.
func TestSecretsStayInMemory(t *testing.T) {
	const value = "s3cr3t-Value-7d1e"
	dir := t.TempDir()
	addr := freeAddr(t)
	p := &Plane{DataDir: dir, StopGrace: time.Second}
	const env = "app/production"
	rel := release("r1", 1)
	rel.Secrets = map[string]string{"DB_PASSWORD": value}
	if err := p.Apply(Desired{Environments: []Environment{{Name: env, Listen: addr, Releases: []Release{rel}, Route: Route{Stable: "r1"}}}}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p, env, "r1")
	if got := getPath(t, addr, "/env/DB_PASSWORD"); got != value {
		t.Fatalf("instance got DB_PASSWORD %q", got)
	}

	// What the plane answers names the secret and leaves its value out; sent back as it is (as the local
	// target does when it changes another release), the release keeps its secrets.
	d := p.Desired()
	if r := d.Environments[0].Releases[0]; r.Secrets != nil || strings.Join(r.SecretNames, ",") != "DB_PASSWORD" {
		t.Fatalf("Desired answers release %+v", r)
	}
	if err := p.Apply(d); err != nil {
		t.Fatal(err)
	}

	// An instance killed behind ferry's back is restarted with its secrets.
	pid := p.State().Environments[0].Releases[0].Instances[0].PID
	syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := p.State().Environments[0].Releases[0].Instances[0]
		if st.Restarts > 0 && st.State == InstanceHealthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance not restarted: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the route follow
	if got := getPath(t, addr, "/env/DB_PASSWORD"); got != value {
		t.Fatalf("restarted instance got DB_PASSWORD %q", got)
	}
	p.Close()
	assertNotInFolder(t, dir, value)
	if saved, _ := os.ReadFile(filepath.Join(dir, "dataplane.json")); !strings.Contains(string(saved), `"DB_PASSWORD"`) {
		t.Errorf("the saved state does not name the secret:\n%s", saved)
	}

	// Restored, the release waits for its secrets; given them, it starts with them.
	p2 := &Plane{DataDir: dir, StopGrace: time.Second}
	t.Cleanup(p2.Close)
	if err := p2.Restore(); err != nil {
		t.Fatal(err)
	}
	rs := p2.State().Environments[0].Releases[0]
	if strings.Join(rs.WaitingFor, ",") != "DB_PASSWORD" || len(rs.Instances) != 0 {
		t.Fatalf("restored release %+v: want it waiting for DB_PASSWORD, with no instance", rs)
	}
	d = p2.Desired()
	d.Environments[0].Releases[0].Secrets = map[string]string{"DB_PASSWORD": value}
	if err := p2.Apply(d); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p2, env, "r1")
	if got := getPath(t, addr, "/env/DB_PASSWORD"); got != value {
		t.Fatalf("after the secrets came again, DB_PASSWORD is %q", got)
	}
	assertNotInFolder(t, dir, value)
}

func getPath(t *testing.T, addr, path string) string {
	t.Helper()
	resp, err := httpGet("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// assertNotInFolder fails when any file under dir holds s.
func assertNotInFolder(t *testing.T, dir, s string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), s) {
			t.Errorf("%s holds the secret's value", p)
		}
		return nil
	})
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
