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
	roots, err := readCARoots(caRoot)
	if err != nil {
		return nil, err
	}
	return acme.New(acme.Config{Dir: filepath.Join(data, "certs"), Roots: roots, Logger: logger})
}

// readCARoots reads --acme-ca-root: the system's roots and the file's; nil (the system's alone) without one.
func readCARoots(caRoot string) (*x509.CertPool, error) {
	if caRoot == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caRoot)
	if err != nil {
		return nil, fmt.Errorf("--acme-ca-root: %w", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--acme-ca-root: %s holds no PEM certificate", caRoot)
	}
	return roots, nil
}

// acmeCARootArgs are the data plane's arguments for serve's --acme-ca-root: the file checked now, so a bad
// one stops serve at its start rather than the data plane it starts later, and made absolute, since the data
// plane runs in another folder.
func acmeCARootArgs(caRoot string) ([]string, error) {
	if caRoot == "" {
		return nil, nil
	}
	if _, err := readCARoots(caRoot); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(caRoot)
	if err != nil {
		return nil, fmt.Errorf("--acme-ca-root: %w", err)
	}
	return []string{"--acme-ca-root", abs}, nil
}
