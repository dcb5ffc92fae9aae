package k8stest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the key material the API server is started with, written as PEM files in a folder. It is made in Go
// so that a test machine needs no openssl.
type pki struct {
	CAFile      string // the cluster CA; clients trust it
	CAPEM       []byte
	CertFile    string // the API server's serving certificate, for 127.0.0.1 and localhost
	KeyFile     string
	SAKeyFile   string // signs service account tokens (kube-apiserver and kube-controller-manager)
	SAPubFile   string // verifies them
	TokenFile   string // static tokens: the admin
	AdminToken  string
	AdminUser   string
	AdminGroups string
}

// newPKI writes a CA, a serving certificate signed by it, a service-account key pair and a token file to dir.
// ECDSA P-256 keys: the API server accepts them everywhere and they are quick to make.
func newPKI(dir string) (*pki, error) {
	p := &pki{
		CAFile:      filepath.Join(dir, "ca.crt"),
		CertFile:    filepath.Join(dir, "apiserver.crt"),
		KeyFile:     filepath.Join(dir, "apiserver.key"),
		SAKeyFile:   filepath.Join(dir, "sa.key"),
		SAPubFile:   filepath.Join(dir, "sa.pub"),
		TokenFile:   filepath.Join(dir, "tokens.csv"),
		AdminUser:   "ferry-test-admin",
		AdminGroups: "system:masters",
	}
	now := time.Now()

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "ferry-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	p.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate serving key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create serving certificate: %w", err)
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate service account key: %w", err)
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("marshal service account public key: %w", err)
	}

	p.AdminToken = rand.Text()
	files := []struct {
		path string
		data []byte
	}{
		{p.CAFile, p.CAPEM},
		{p.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})},
		{p.KeyFile, ecKeyPEM(key)},
		{p.SAKeyFile, ecKeyPEM(saKey)},
		{p.SAPubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub})},
		// token,user,uid,"group,group"
		{p.TokenFile, fmt.Appendf(nil, "%s,%s,%s,\"%s\"\n", p.AdminToken, p.AdminUser, p.AdminUser, p.AdminGroups)},
	}
	for _, f := range files {
		if f.data == nil {
			return nil, fmt.Errorf("encode %s", filepath.Base(f.path))
		}
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", filepath.Base(f.path), err)
		}
	}
	return p, nil
}

func ecKeyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}
