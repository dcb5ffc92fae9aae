package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadSealer(t *testing.T) (*Sealer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), KeyFile)
	s, err := LoadSealer(path)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestSealOpenRoundTrip(t *testing.T) {
	s, _ := loadSealer(t)
	for _, value := range []string{"", "hunter2", strings.Repeat("x", 10_000)} {
		sealed := s.Seal("shop", "API_KEY", []byte(value))
		if value != "" && bytes.Contains(sealed, []byte(value)) {
			t.Errorf("sealed value holds the plain text")
		}
		got, err := s.Open("shop", "API_KEY", sealed)
		if err != nil || string(got) != value {
			t.Errorf("Open = %q, %v; want %q", got, err, value)
		}
	}
	if bytes.Equal(s.Seal("shop", "K", []byte("v")), s.Seal("shop", "K", []byte("v"))) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
}

// A sealed value is bound to its project and name: copying it to another secret's row gives nothing.
func TestSealedValueCannotBeOpenedAsAnotherSecret(t *testing.T) {
	s, _ := loadSealer(t)
	sealed := s.Seal("shop", "API_KEY", []byte("hunter2"))
	tests := []struct{ project, name string }{
		{"other", "API_KEY"},
		{"shop", "OTHER_KEY"},
		// The separator keeps "shop"+"API_KEY" from reading as "sho"+"pAPI_KEY".
		{"sho", "pAPI_KEY"},
	}
	for _, tt := range tests {
		if v, err := s.Open(tt.project, tt.name, sealed); err == nil {
			t.Errorf("Open(%s, %s) = %q, want an error", tt.project, tt.name, v)
		}
	}
}

func TestTamperedValueIsRefused(t *testing.T) {
	s, _ := loadSealer(t)
	sealed := s.Seal("shop", "API_KEY", []byte("hunter2"))
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 1
		if v, err := s.Open("shop", "API_KEY", bad); err == nil {
			t.Fatalf("byte %d flipped: Open = %q, want an error", i, v)
		}
	}
	if _, err := s.Open("shop", "API_KEY", sealed[:5]); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("truncated: %v, want too short", err)
	}
}

func TestKeyFileIsCreatedOwnerOnlyAndKept(t *testing.T) {
	s, path := loadSealer(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Errorf("key file mode %v size %d, want 0600 and 32 bytes", fi.Mode().Perm(), fi.Size())
	}
	sealed := s.Seal("shop", "API_KEY", []byte("hunter2"))
	// A server started again reads the same key and opens what the previous one sealed.
	again, err := LoadSealer(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := again.Open("shop", "API_KEY", sealed); err != nil || string(v) != "hunter2" {
		t.Errorf("after reload: %q, %v", v, err)
	}
}

func TestKeyOfTheWrongSizeIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFile)
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSealer(path); err == nil || !strings.Contains(err.Error(), "want 32 bytes, found 5") {
		t.Errorf("LoadSealer = %v, want a size error", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "short" {
		t.Errorf("the key file was replaced: %q", data)
	}
}
