package acme

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
)

// store keeps accounts and certificates under one folder, opened as an os.Root: every name is resolved inside
// it, so nothing a commit names can reach a file outside. Layout:
//
//	<dir>/<ca>/account-<hash of email>.key
//	<dir>/<ca>/<host>/cert.pem   the chain, leaf first
//	<dir>/<ca>/<host>/key.pem    0600
type store struct {
	root *os.Root
}

func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certificates folder: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("certificates folder: %w", err)
	}
	return &store{root: r}, nil
}

// accountKey returns the account key for the CA folder and email, made and saved the first time.
func (s *store) accountKey(ca, email string) (crypto.Signer, error) {
	sum := sha256.Sum256([]byte(email))
	name := path.Join(ca, "account-"+hex.EncodeToString(sum[:6])+".key")
	if data, err := s.root.ReadFile(name); err == nil {
		return parseKey(data)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read account key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := s.write(ca, name, encodeKey(key)); err != nil {
		return nil, fmt.Errorf("save account key: %w", err)
	}
	return key, nil
}

// load returns the certificate stored for host at the CA, or nil when there is none.
func (s *store) load(ca, host string) (*tls.Certificate, error) {
	certPEM, err := s.root.ReadFile(path.Join(ca, host, "cert.pem"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	keyPEM, err := s.root.ReadFile(path.Join(ca, host, "key.pem"))
	if err != nil {
		return nil, fmt.Errorf("read certificate key: %w", err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("stored certificate for %s: %w", host, err)
	}
	return &c, nil
}

// save writes host's chain and key at the CA, each replaced whole (written beside, then renamed).
func (s *store) save(ca, host string, chain [][]byte, key *ecdsa.PrivateKey) error {
	var certPEM []byte
	for _, der := range chain {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	dir := path.Join(ca, host)
	if err := s.write(dir, path.Join(dir, "key.pem"), encodeKey(key)); err != nil {
		return fmt.Errorf("save certificate key: %w", err)
	}
	if err := s.write(dir, path.Join(dir, "cert.pem"), certPEM); err != nil {
		return fmt.Errorf("save certificate: %w", err)
	}
	return nil
}

// write replaces name (inside dir, made 0700 when missing) with data, 0600.
func (s *store) write(dir, name string, data []byte) error {
	if err := s.root.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := s.root.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return s.root.Rename(tmp, name)
}

func (s *store) close() error { return s.root.Close() }

func encodeKey(key *ecdsa.PrivateKey) []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func parseKey(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("account key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("account key cannot sign")
	}
	return signer, nil
}
