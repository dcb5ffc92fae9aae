package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// hashToken is how tokens are stored: only their SHA-256.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// newToken returns a fresh API token.
func newToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "ferry_" + hex.EncodeToString(b)
}
