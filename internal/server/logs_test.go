package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealerBindsSecretToItsName(t *testing.T) {
	dir := t.TempDir()
	s, err := loadSealer(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.seal("app", "TOKEN", []byte("value"))
	if strings.Contains(string(sealed), "value") {
		t.Fatal("sealed value holds the clear text")
	}
	if v, err := s.open("app", "TOKEN", sealed); err != nil || string(v) != "value" {
		t.Fatalf("open = %q, %v", v, err)
	}
	if _, err := s.open("other", "TOKEN", sealed); err == nil {
		t.Error("a sealed value opened under another project")
	}
	// The key survives a restart; it is readable by its owner only.
	again, err := loadSealer(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := again.open("app", "TOKEN", sealed); err != nil || string(v) != "value" {
		t.Fatalf("after reload: %q, %v", v, err)
	}
	if info, _ := os.Stat(filepath.Join(dir, "key")); info.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", info.Mode().Perm())
	}
}
