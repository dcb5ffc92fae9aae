package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/edge/acme/pebbletest"
)

func TestOpenCertificates(t *testing.T) {
	ca := pebbletest.Start(t, pebbletest.Options{AlwaysValid: true})
	dir := t.TempDir()
	good := filepath.Join(dir, "root.pem")
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(good, ca.DirectoryRootPEM, 0o600)
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	for _, tc := range []struct{ root, want string }{
		{filepath.Join(dir, "missing.pem"), "--acme-ca-root: open"},
		{bad, "holds no PEM certificate"},
	} {
		if _, err := openCertificates(dir, tc.root, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("root %s: %v, want %q", tc.root, err, tc.want)
		}
	}
	m, err := openCertificates(dir, good, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if fi, err := os.Stat(filepath.Join(dir, "certs")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("certs folder: %v %v", fi, err)
	}
}

// TestACMECARootArgs: serve checks its --acme-ca-root at start and hands the data plane it starts an absolute
// path, since the data plane runs in another folder.
func TestACMECARootArgs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ca := pebbletest.Start(t, pebbletest.Options{AlwaysValid: true})
	os.WriteFile("root.pem", ca.DirectoryRootPEM, 0o600)
	os.WriteFile("bad.pem", []byte("not a certificate"), 0o600)
	got, err := acmeCARootArgs("root.pem")
	if err != nil || len(got) != 2 || got[0] != "--acme-ca-root" || got[1] != filepath.Join(dir, "root.pem") {
		t.Errorf("acmeCARootArgs(root.pem) = %q, %v", got, err)
	}
	if got, err := acmeCARootArgs(""); err != nil || got != nil {
		t.Errorf("acmeCARootArgs(\"\") = %q, %v", got, err)
	}
	for root, want := range map[string]string{"missing.pem": "--acme-ca-root: open missing.pem", "bad.pem": "holds no PEM certificate"} {
		if _, err := acmeCARootArgs(root); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("acmeCARootArgs(%s): %v, want %q", root, err, want)
		}
	}
}
