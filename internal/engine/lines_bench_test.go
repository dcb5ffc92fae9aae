package engine

import (
	"bytes"
	"testing"
)

func BenchmarkLineSplitter(b *testing.B) {
	chunk := bytes.Repeat(append(bytes.Repeat([]byte("x"), 99), '\n'), 640) // 64000 bytes of 100-byte lines
	for _, tc := range []struct {
		name    string
		secrets []string
	}{{"no-secrets", nil}, {"two-secrets", []string{"hunter2-secret", "another-one"}}} {
		b.Run(tc.name, func(b *testing.B) {
			ls := newLineSplitter(tc.secrets, func([]byte) {})
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				ls.Write(chunk)
			}
		})
	}
}
