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
