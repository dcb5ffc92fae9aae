// Package secret seals project secrets at rest: AES-256-GCM under a key kept in the data folder, each value
// bound to its project and name. It holds the key and the sealing, nothing of who may read a secret (the
// server and the run lifecycle decide that). It imports nothing of ferry's.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
)

// KeyFile is the sealing key's name in the data folder.
const KeyFile = "secret.key"

// A Sealer encrypts secret values under a key kept in the data folder (mode 0600), so a copy of the database
// alone reveals no secret. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// LoadSealer reads the 32-byte key at keyPath, creating it (mode 0600) with a random key when it does not
// exist. A key of another size is an error: it is never replaced, since every sealed value depends on it.
func LoadSealer(keyPath string) (*Sealer, error) {
	key, err := os.ReadFile(keyPath)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		rand.Read(key)
		f, err := os.OpenFile(keyPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create secret key: %w", err)
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, fmt.Errorf("write secret key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("write secret key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key %s: want 32 bytes, found %d", keyPath, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts value; the project and name are bound in, so a sealed value cannot be moved to another secret.
func (s *Sealer) Seal(project, name string, value []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, value, []byte(project+"\x00"+name))
}

// Open decrypts what Seal gave for the same project and name; any other project or name, or a changed byte,
// is an error.
func (s *Sealer) Open(project, name string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed secret too short")
	}
	v, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(project+"\x00"+name))
	if err != nil {
		return nil, fmt.Errorf("open secret %s: %w", name, err)
	}
	return v, nil
}
