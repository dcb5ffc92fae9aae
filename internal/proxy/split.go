package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
)

// Bucket maps a client id to one of 10 000 buckets (0.01 % each). A client with bucket b is on the canary while
// the canary's weight in percent is above b/100, so raising the weight only ever moves clients from stable to
// canary: nobody flips back and forth during a rollout.
func Bucket(clientID string) int {
	h := fnv.New32a()
	h.Write([]byte(clientID))
	return int(h.Sum32() % 10000)
}

func newClientID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validClientID accepts the ids newClientID makes, so a forged cookie cannot carry anything else into logs.
func validClientID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
