package cli

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ferry-cd/ferry/internal/edge/acme"
)

// openCertificates opens the data plane's ACME certificate manager on DATA/certs. caRoot, when set, is a PEM
// file of roots trusted for ACME directories besides the system's: a test CA's root comes from the server's
// command line, never from a commit.
func openCertificates(data, caRoot string, logger *slog.Logger) (*acme.Manager, error) {
	var roots *x509.CertPool
	if caRoot != "" {
		pem, err := os.ReadFile(caRoot)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca-root: %w", err)
		}
		roots, err = x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--acme-ca-root: %s holds no PEM certificate", caRoot)
		}
	}
	return acme.New(acme.Config{Dir: filepath.Join(data, "certs"), Roots: roots, Logger: logger})
}
